"""Python settings -> evbus_conf_t."""
import atexit
import json
import weakref
import logging
from typing import Any, Iterable, Mapping, Optional

from ._ffi import EVBUS_CONF_OK, EVBUS_CONF_UNKNOWN, ffi, lib
from .errors import ConfigError, check

ERRSTR = 1024


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


# Every open Producer and Consumer, closed at interpreter exit: their library threads call back
# into Python (delivery reports, log lines), which must not happen once Python is finalizing.
_live = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for obj in list(_live):
        try:
            obj.close()
        except Exception:  # pylint: disable=broad-except
            pass


_LEVELS = {3: logging.ERROR, 4: logging.WARNING, 5: logging.INFO, 6: logging.INFO,
           7: logging.DEBUG}


def log_callback(logger: logging.Logger):
    """A cffi callback sending the library's log lines to logger (kept alive by the caller).
    Called on the library's threads; it takes the GIL for the call only."""
    def cb(level, subsystem, message, fields, _opaque):
        lvl = _LEVELS.get(level, logging.ERROR if level < 3 else logging.DEBUG)
        if not logger.isEnabledFor(lvl):
            return
        extra = {}
        if fields != ffi.NULL:
            for f in ("topic", "ce_type", "ce_id", "handler", "error"):
                v = getattr(fields, f)
                if v != ffi.NULL:
                    extra["evbus_" + f] = ffi.string(v).decode("utf-8", "replace")
        logger.log(lvl, "%s: %s", ffi.string(subsystem).decode("utf-8", "replace"),
                   ffi.string(message).decode("utf-8", "replace"), extra=extra)
    return ffi.callback("void(*)(int, const char *, const char *, const evbus_log_fields_t *, "
                        "void *)", cb)


def make_conf(settings: Optional[Mapping[str, Any]], schemas: Iterable[str] = (),
              from_env: bool = False, log_cb=None):
    """A new evbus_conf_t (the caller owns it) from settings: evbus names, "kafka.<name>", with
    values as text, numbers, booleans, or (producer.config) a dict.  Every bad setting is
    reported at once, in one ConfigError."""
    conf = lib.evbus_conf_new()
    if conf == ffi.NULL:
        raise MemoryError("evbus_conf_new")
    err = ffi.new("char[]", ERRSTR)
    problems = []
    try:
        for name, value in (settings or {}).items():
            if value is None:
                continue
            res = lib.evbus_conf_set(conf, name.encode(), _text(value).encode(), err, ERRSTR)
            if res == EVBUS_CONF_UNKNOWN:
                problems.append("%s: unknown setting" % name)
            elif res != EVBUS_CONF_OK:
                problems.append("%s: %s" % (name, ffi.string(err).decode("utf-8", "replace")))
        for text in schemas:
            b = text.encode()
            rc = lib.evbus_conf_add_schema(conf, b, len(b), err, ERRSTR)
            if rc != 0:
                problems.append(ffi.string(err).decode("utf-8", "replace"))
        if log_cb is not None:
            lib.evbus_conf_set_log_cb(conf, log_cb, ffi.NULL)
        if from_env:
            check(lib.evbus_conf_from_env(conf, err, ERRSTR), err)
        if problems:
            raise ConfigError("; ".join(problems))
    except BaseException:
        lib.evbus_conf_destroy(conf)
        raise
    return conf
