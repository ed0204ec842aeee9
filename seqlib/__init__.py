"""seqlib: the numpy machinery behind the book *Sequence Modeling*."""
