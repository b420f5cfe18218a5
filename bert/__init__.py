"""BERT: WordPiece tokenization, the Keras 3 encoder, checkpoint loading and attention extraction."""

import os

# TensorFlow's C++ start-up chatter (no GPU found, CPU features) would bury our one-line messages.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
