"""evbus: Python binding of libevbus (cffi, ABI mode, public C API only).

The library is found through EVBUS_LIBRARY (a path), else the system loader's libevbus.so.0;
importing fails with one ImportError naming what was looked for when it is missing or too old.
"""
from ._ffi import LIBRARY_VERSION, LibraryNotFound
from .consumer import Consumer, Event
from .errors import (ConfigError, DecodeError, EncodeError, EvbusError, HandlerError,
                     InvalidArgumentError, KeyPathError, NoMemoryError, PluginError,
                     QueueFullError, RegistryError, RejectedError, SchemaError, StateError,
                     TimeoutError, TransportError, UnknownTypeError)
from .producer import Delivery, Producer

__version__ = "0.3.0"  # released with libevbus 0.3.0 (include/evbus/evbus.h)
__all__ = ["Producer", "Consumer", "Event", "Delivery", "EvbusError", "ConfigError",
           "SchemaError", "KeyPathError", "UnknownTypeError", "EncodeError", "DecodeError",
           "HandlerError", "TransportError", "TimeoutError", "QueueFullError", "NoMemoryError",
           "InvalidArgumentError", "PluginError", "RegistryError", "StateError", "RejectedError",
           "LibraryNotFound", "LIBRARY_VERSION"]
