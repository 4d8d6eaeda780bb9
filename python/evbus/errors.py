"""evbus_err_t as exception classes: one per code, all under EvbusError, carrying the C code."""
from typing import Dict, Optional, Type

from ._ffi import ffi, lib


class EvbusError(Exception):
    """An evbus call failed.  .code is the evbus_err_t value, .name its name ("ERR_KEY")."""

    code = -1000

    def __init__(self, message: str, code: Optional[int] = None):
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def name(self) -> str:
        return ffi.string(lib.evbus_err_name(self.code)).decode()


class ConfigError(EvbusError):
    code = -1


class SchemaError(EvbusError):
    code = -2


class KeyPathError(EvbusError):
    code = -3


class UnknownTypeError(EvbusError):
    code = -4


class EncodeError(EvbusError):
    code = -5


class DecodeError(EvbusError):
    code = -6


class HandlerError(EvbusError):
    code = -7


class TransportError(EvbusError):
    code = -8


class TimeoutError(EvbusError):  # pylint: disable=redefined-builtin
    code = -9


class QueueFullError(EvbusError):
    code = -10


class NoMemoryError(EvbusError):
    code = -11


class InvalidArgumentError(EvbusError):
    code = -12


class IOError(EvbusError):  # pylint: disable=redefined-builtin
    code = -13


class RegistryError(EvbusError):
    code = -14


class PluginError(EvbusError):
    code = -15


class StateError(EvbusError):
    code = -16


class RejectedError(EvbusError):
    code = -17


_BY_CODE: Dict[int, Type[EvbusError]] = {
    c.code: c for c in (ConfigError, SchemaError, KeyPathError, UnknownTypeError, EncodeError,
                        DecodeError, HandlerError, TransportError, TimeoutError, QueueFullError,
                        NoMemoryError, InvalidArgumentError, IOError, RegistryError, PluginError,
                        StateError, RejectedError)}


def error_for(code: int, errbuf=None) -> EvbusError:
    """The exception for code, with the library's errstr (or its generic message)."""
    msg = ffi.string(errbuf).decode("utf-8", "replace") if errbuf is not None else ""
    if not msg:
        msg = ffi.string(lib.evbus_strerror(code)).decode()
    return _BY_CODE.get(code, EvbusError)(msg, code)


def check(code: int, errbuf=None) -> None:
    if code != 0:
        raise error_for(code, errbuf)
