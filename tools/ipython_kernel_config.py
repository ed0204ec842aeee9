# IPython kernel configuration of the book's environment, installed by `make setup`
# into $(VENV)/etc/ipython/ (IPython reads config there for every kernel of the venv:
# the build's, the reproducibility test's, JupyterLab's).
#
# Matplotlib figures as 2x ("retina") PNGs: twice the pixels, with the 1x size
# as the output's width/height metadata, which myst-nb writes on the <img>.
# Sharp on high-DPI screens, the same size on the page as before, and the
# chapters need no change.
c = get_config()  # noqa: F821 - IPython's config loader provides get_config
c.InlineBackend.figure_formats = {"retina"}
