"""Reading ChronoLog's client JSON configuration file, and the store
directory that the environment names.

The file is the one ChronoLog's own client reads::

    {"chrono_client": {
        "VisorClientPortalService": {"rpc": {
            "protocol_conf": "ofi+sockets", "service_ip": "127.0.0.1",
            "service_base_port": 5555, "service_provider_id": 55}},
        "ClientQueryService": {"rpc": {...the same four keys...}},
        "Monitoring": {"monitor": {
            "type": "file", "file": "chrono_client.log", "level": "debug",
            "name": "ChronoClient", "filesize": 1048576, "filenum": 3,
            "flushlevel": "warning"}}}}

As in ChronoLog, only ``chrono_client`` is required and a missing section
or key keeps its default.  Unlike ChronoLog, a value of the wrong type or
out of range is an error (ChronoLog silently converts it, turning
``"5555"`` into a port and 70000 into 4464), and every error names the file
and the key.

:func:`store_from_environment` reads ``$CHRONOLOG_CTYPES_STORE`` for
``Client(...)``, the command-line tool and the logging handler alike.
"""

import json
import os
from typing import Any, Dict, Mapping, Optional, Union

from ._status import CL_ERR_INVALID_ARG, InvalidArgumentError

__all__ = [
    "ClientConfig",
    "ConfigError",
    "DEFAULT_MONITORING",
    "load_client_config",
    "parse_client_config",
    "store_from_environment",
]

#: The environment variable that names an embedded store directory.
STORE_VARIABLE = "CHRONOLOG_CTYPES_STORE"

#: ChronoLog's defaults for ``chrono_client.Monitoring.monitor``.
DEFAULT_MONITORING: Dict[str, Union[str, int]] = {
    "type": "file",
    "file": "chrono_client.log",
    "level": "debug",
    "name": "ChronoClient",
    "filesize": 1048576,
    "filenum": 3,
    "flushlevel": "warning",
}

_LOG_LEVELS = ("trace", "debug", "info", "warning", "error", "critical",
               "off")

_PORTAL_KEY = "chrono_client.VisorClientPortalService.rpc"
_QUERY_KEY = "chrono_client.ClientQueryService.rpc"
_MONITOR_KEY = "chrono_client.Monitoring.monitor"


class ConfigError(InvalidArgumentError):
    """A configuration file that cannot be used.

    ``path`` is the file and ``key`` the dotted key at fault (``""`` when
    the file as a whole is).  It is an :class:`InvalidArgumentError`, so
    also a ``ValueError``.
    """

    def __init__(self, path: str, key: str, problem: str) -> None:
        self.path = path
        self.key = key
        self.problem = problem
        where = "%s: %s" % (path, key) if key else path
        super().__init__(CL_ERR_INVALID_ARG, "%s: %s" % (where, problem))

    def __reduce__(self) -> Any:
        return (type(self), (self.path, self.key, self.problem))


class ClientConfig:
    """The settings a client configuration file gives.

    ``portal`` is a ``ClientPortalServiceConf``, ``query`` a
    ``ClientQueryServiceConf``, ``monitoring`` a dict of the seven
    ``Monitoring.monitor`` keys (kept for reference: this package logs
    through :mod:`logging`, not to ChronoLog's log file), and ``path`` the
    file read.
    """

    __slots__ = ("path", "portal", "query", "monitoring")

    def __init__(self, path: str, portal: Any, query: Any,
                 monitoring: Dict[str, Union[str, int]]) -> None:
        self.path = path
        self.portal = portal
        self.query = query
        self.monitoring = monitoring

    def __repr__(self) -> str:
        return "ClientConfig(path=%r, portal=%r, query=%r)" % (
            self.path, self.portal, self.query)


def load_client_config(path: "Union[str, os.PathLike[str]]") -> ClientConfig:
    """Read a ChronoLog client configuration file.

    Returns a :class:`ClientConfig`.  Raises ``OSError`` when the file
    cannot be read and :class:`ConfigError` when it is not valid JSON or a
    key has a wrong value; the message names the file and the key.
    """
    path = os.fspath(path)
    with open(path, "rb") as stream:
        raw = stream.read()
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ConfigError(path, "", "not valid JSON: %s" % error) from None
    return parse_client_config(document, path)


def parse_client_config(document: Any,
                        path: str = "<configuration>") -> ClientConfig:
    """Build a :class:`ClientConfig` from an already parsed document.

    ``path`` is only used in error messages.
    """
    # Imported here: client.py imports this module.
    from .client import ClientPortalServiceConf, ClientQueryServiceConf

    if not isinstance(document, Mapping):
        raise ConfigError(path, "", "the top level must be a JSON object")
    if "chrono_client" not in document:
        raise ConfigError(path, "chrono_client", "missing")
    client = _section(document, "chrono_client", path, "chrono_client")

    portal = _service(client, "VisorClientPortalService", path,
                      _PORTAL_KEY, ClientPortalServiceConf())
    query = _service(client, "ClientQueryService", path, _QUERY_KEY,
                     ClientQueryServiceConf())
    portal_conf = ClientPortalServiceConf(*portal)
    query_conf = ClientQueryServiceConf(*query)

    monitoring = dict(DEFAULT_MONITORING)
    monitor = _subsection(client, "Monitoring", "monitor", path)
    for key in ("type", "file", "name"):
        if key in monitor:
            monitoring[key] = _text(monitor, key, path, _MONITOR_KEY)
    for key in ("level", "flushlevel"):
        if key in monitor:
            level = _text(monitor, key, path, _MONITOR_KEY)
            if level not in _LOG_LEVELS:
                raise ConfigError(path, "%s.%s" % (_MONITOR_KEY, key),
                                  "must be one of %s, got %r"
                                  % (", ".join(_LOG_LEVELS), level))
            monitoring[key] = level
    for key in ("filesize", "filenum"):
        if key in monitor:
            monitoring[key] = _integer(monitor, key, path, _MONITOR_KEY,
                                       0, 2 ** 63 - 1)

    return ClientConfig(path, portal_conf, query_conf, monitoring)


def _section(parent: Mapping[str, Any], name: str, path: str,
             key: str) -> Mapping[str, Any]:
    value = parent.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(path, key, "must be a JSON object, got %s"
                          % _json_type(value))
    return value


def _subsection(client: Mapping[str, Any], section: str, name: str,
                path: str) -> Mapping[str, Any]:
    outer = _section(client, section, path, "chrono_client." + section)
    return _section(outer, name, path,
                    "chrono_client.%s.%s" % (section, name))


def _service(client: Mapping[str, Any], section: str, path: str, key: str,
             default: Any) -> tuple:
    rpc = _subsection(client, section, "rpc", path)
    proto = default.proto
    ip = default.ip
    port = default.port
    provider_id = default.provider_id
    if "protocol_conf" in rpc:
        proto = _text(rpc, "protocol_conf", path, key)
    if "service_ip" in rpc:
        ip = _text(rpc, "service_ip", path, key)
    if "service_base_port" in rpc:
        port = _integer(rpc, "service_base_port", path, key, 0, 65535)
    if "service_provider_id" in rpc:
        provider_id = _integer(rpc, "service_provider_id", path, key, 0,
                               65535)
    return proto, ip, port, provider_id


def _text(section: Mapping[str, Any], name: str, path: str,
          key: str) -> str:
    value = section[name]
    if not isinstance(value, str) or not value or "\0" in value:
        raise ConfigError(path, "%s.%s" % (key, name),
                          "must be a non-empty string, got %s"
                          % _json_type(value))
    return value


def _integer(section: Mapping[str, Any], name: str, path: str, key: str,
             low: int, high: int) -> int:
    value = section[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(path, "%s.%s" % (key, name),
                          "must be an integer, got %s" % _json_type(value))
    if not low <= value <= high:
        raise ConfigError(path, "%s.%s" % (key, name),
                          "must be within %d..%d, got %d"
                          % (low, high, value))
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "the number %r" % (value,)
    if isinstance(value, str):
        return "the string %r" % (value,)
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def store_from_environment(
        environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """Return the store directory ``$CHRONOLOG_CTYPES_STORE`` names, or None.

    ``environ`` defaults to ``os.environ``. None when the variable is
    unset or empty. A leading ``~`` or ``~user`` is expanded as a shell
    would, so that every reader of the variable opens the same directory;
    a relative path stays relative to the working directory.
    """
    env = os.environ if environ is None else environ
    value = env.get(STORE_VARIABLE)
    if not value:
        return None
    return os.path.expanduser(value)
