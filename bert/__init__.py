"""BERT: WordPiece tokenization, the Keras 3 encoder, checkpoint loading and attention extraction."""
