"""The model side: `tokenization` (WordPiece), `config` (hyperparameters), `checkpoint` (Google, Hugging Face, Hub
ids and the embedded default), `modeling` (the Keras 3 encoder and masked-LM head), `extraction` (batched maps),
`gradients` (masking and the masked-LM loss's gradient with respect to attention), `backend` (quiet Keras import)."""
