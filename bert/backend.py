"""The Keras backend, imported once and quietly: TensorFlow prints a screen of start-up logs (oneDNN, CUDA, CPU
features) through native code, which Python's logging cannot silence."""

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send what native code writes to file descriptor 2 to /dev/null for the duration (Python errors still show
    once it ends, since they propagate)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_keras(verbose: bool = False) -> None:
    """Import Keras (and its backend) before anything else does, without the backend's start-up logs unless
    `verbose`."""
    if verbose:
        import keras  # noqa: F401
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # what TensorFlow logs later, once running
    with _native_stderr_silenced():
        import keras  # noqa: F401
