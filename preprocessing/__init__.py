"""Input preparation: raw text -> BERT segments (`unlabeled`), dependency treebanks -> JSON (`depparse`), CoNLL-U
coreference -> windows with their mentions (`coref`)."""
