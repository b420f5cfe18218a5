"""Pickles made the way Python 2 made them, to test that the original's released files load.

Python 2's `cPickle.dump(obj, f, 2)` wrote protocol 2 where every `str` (text and raw bytes alike, there was one
type) is a BINSTRING / SHORT_BINSTRING of bytes, and numpy arrays reduce to
`numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), 'b')` with state `(1, shape, dtype, fortran, raw bytes)`.
`Python2Pickler` writes exactly that from Python 3: it is the pure-Python pickler with `str` and `bytes` saved as
Python 2 strings (text as UTF-8 bytes) and numpy's module renamed back to the name Python 2's numpy used.
"""

import io
import pickle
import struct

import numpy as np


class Python2Pickler(pickle._Pickler):
    """Protocol 2, with Python 2 `str` opcodes for str and bytes, and Python 2 numpy module names."""

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file: io.BufferedIOBase) -> None:
        super().__init__(file, protocol=2)

    def save_py2_string(self, value: str | bytes) -> None:
        """A Python 2 `str`: SHORT_BINSTRING or BINSTRING of its bytes."""
        data = value.encode("utf-8") if isinstance(value, str) else value
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(value)

    dispatch[str] = save_py2_string
    dispatch[bytes] = save_py2_string

    def save_global(self, obj: object, name: str | None = None) -> None:
        """GLOBAL with the module names of Python 2's numpy (`numpy.core`, not `numpy._core`)."""
        module = getattr(obj, "__module__", None)
        name = name or obj.__qualname__
        module = {"numpy._core.multiarray": "numpy.core.multiarray"}.get(module, module)
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode())
        self.memoize(obj)

    dispatch[type] = save_global


def python2_array_reduce(array: np.ndarray) -> tuple:
    """What Python 2's numpy returned from `ndarray.__reduce__` (the raw data as a Python 2 string)."""
    reconstruct = np._core.multiarray._reconstruct
    state = (1, array.shape, array.dtype, bool(np.isfortran(array)), array.tobytes())
    return reconstruct, (np.ndarray, (0,), b"b"), state


def python2_dumps(value: object) -> bytes:
    """`value` pickled as Python 2's cPickle.dumps(value, 2) would have."""
    stream = io.BytesIO()
    pickler = Python2Pickler(stream)
    pickler.dispatch_table = {np.ndarray: python2_array_reduce}
    pickler.dump(value)
    return stream.getvalue()
