"""Input preparation: raw text -> BERT segments (`unlabeled`), dependency treebanks -> JSON (`depparse`)."""
