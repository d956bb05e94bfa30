"""What only the ChronoLog backend does: one ChronoLog client per process,
checked settings, a bounded connect, fork.

Tests that need a deployment use ``live_deployment`` and are skipped, saying
why, without $CHRONOLOG_CTYPES_LIVE_CONFIG; the others need only a library
built with the ChronoLog backend.  Tests whose outcome depends on the first
ChronoLog client of a process run in a child process.
"""

import json
import os

import pytest

import chronolog_ctypes as cl
from conftest import chronolog_built  # noqa: F401 (in the skipif condition)
from conftest import free_port, run_python, unique_name

needs_chronolog = pytest.mark.skipif(
    "not chronolog_built()",
    reason="this library was built without the ChronoLog backend")

# Reads the deployment's settings in a child; gives it a query port of its
# own.
_CHILD_SETUP = """
import os, uuid
import chronolog_ctypes as cl
from chronolog_ctypes import ClientPortalServiceConf, ClientQueryServiceConf
config = cl.load_client_config(os.environ["CHRONOLOG_CTYPES_LIVE_CONFIG"])
portal = config.portal
query = ClientQueryServiceConf(config.query.proto, config.query.ip,
                               int(os.environ["QUERY_PORT"]),
                               config.query.provider_id)
name = "child-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
"""


def _child_env(deployment, **extra):
    env = deployment.child_env()
    env["QUERY_PORT"] = str(free_port(deployment.query.ip))
    env.update({key: str(value) for key, value in extra.items()})
    return env


@needs_chronolog
def test_addresses_chronolog_cannot_use_are_refused_at_once():
    with pytest.raises(cl.InvalidArgumentError, match="not an IPv4 address"):
        cl.Client.deployment(cl.ClientPortalServiceConf(ip="portal.example"))
    with pytest.raises(cl.InvalidArgumentError, match="query port 0"):
        cl.Client.deployment(cl.ClientPortalServiceConf(),
                             cl.ClientQueryServiceConf(port=0))
    with pytest.raises(cl.InvalidArgumentError, match="not an IPv4 address"):
        cl.Client.deployment(cl.ClientPortalServiceConf(),
                             cl.ClientQueryServiceConf(ip="localhost"))


@needs_chronolog
def test_connect_where_nothing_listens_fails_and_starts_nothing():
    port = free_port("127.0.0.1")
    result = run_python("""
        import chronolog_ctypes as cl
        port = %d
        client = cl.Client.deployment(
            cl.ClientPortalServiceConf("ofi+sockets", "127.0.0.1", port, 55))
        print(client.Connect())
        try:
            client.connect()
        except cl.NoConnectionError as error:
            print(error)
        # ChronoLog's client was not started, so other settings still fit.
        other = cl.Client.deployment(
            cl.ClientPortalServiceConf("ofi+sockets", "127.0.0.1", port, 56),
            cl.ClientQueryServiceConf(port=%d))
        print(other.Connect())
    """ % (port, free_port("127.0.0.1")),
        env={"FI_SOCKETS_IFACE": "lo", "FI_TCP_IFACE": "lo"})
    lines = result.stdout.decode().splitlines()
    assert lines[0] == str(cl.CL_ERR_NO_CONNECTION)
    assert lines[1] == (
        "CL_ERR_NO_CONNECTION: cannot connect the ChronoLog client of "
        "ofi+sockets://127.0.0.1:%d: no ChronoVisor answers at "
        "ofi+sockets://127.0.0.1:%d (provider 55): Connection refused"
        % (port, port))
    assert lines[2] == str(cl.CL_ERR_NO_CONNECTION)


def test_a_client_with_other_settings_is_refused(live_deployment):
    result = run_python(_CHILD_SETUP + """
import chronolog_ctypes as cl
first = cl.Client.deployment(portal, query).connect()
first.create_chronicle(name)
other_portal = ClientPortalServiceConf(portal.proto, portal.ip,
                                       portal.port + 1, portal.provider_id)
for settings in [(other_portal,),
                 (portal, ClientQueryServiceConf(query.proto, query.ip,
                                                 query.port + 1,
                                                 query.provider_id))]:
    try:
        cl.Client.deployment(*settings)
    except cl.InvalidArgumentError as error:
        print(error.status, "one client per process" in str(error))

# A writer-only client shares the reader's ChronoLog client; closing the
# reader leaves it working.
writer = cl.Client.deployment(portal).connect()
story = writer.acquire_story(name, "s")
first.close()
print(story.log(b"x") > 0, name in writer.chronicles())
writer.close()

# Every client closed, ChronoLog's client disconnected: a new one connects.
again = cl.Client.deployment(portal, query).connect()
print(name in again.chronicles())
again.close()
""", env=_child_env(live_deployment))
    assert result.stdout.decode().split() == [
        str(cl.CL_ERR_INVALID_ARG), "True", str(cl.CL_ERR_INVALID_ARG),
        "True", "True", "True", "True"]


def test_a_query_port_in_use_is_refused(live_deployment):
    reader = live_deployment.client()
    try:
        reader.connect()  # this process now listens on the query port
        result = run_python(_CHILD_SETUP + """
try:
    cl.Client.deployment(portal, query).connect()
except cl.InvalidArgumentError as error:
    print(error)
""", env=_child_env(live_deployment,
                    QUERY_PORT=live_deployment.query.port))
    finally:
        reader.close()
    message = result.stdout.decode()
    assert "cannot listen for replay results on" in message
    assert ":%d" % live_deployment.query.port in message
    assert "Address already in use" in message


def test_the_client_id_is_not_revealed(live_deployment):
    client = live_deployment.client(reader=False)
    try:
        with pytest.raises(cl.NoConnectionError):
            client.client_id
        client.connect()
        with pytest.raises(cl.UnknownError, match="does not reveal"):
            client.client_id
        assert client.backend == "chronolog" and not client.is_reader
    finally:
        client.close()


def test_a_forked_child_gets_forked_errors(live_deployment):
    client = live_deployment.client().connect()
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                if client.Connect() == cl.CLC_ERR_FORKED:
                    try:
                        live_deployment.client()
                    except cl.ForkedError:
                        code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        assert client.chronicles() == sorted(client.chronicles())
    finally:
        client.close()


def test_the_deployments_configuration_file_is_read(live_deployment):
    path = live_deployment.config_path
    with open(path, encoding="utf-8") as stream:
        raw = json.load(stream)["chrono_client"]
    config = cl.load_client_config(path)
    portal = raw["VisorClientPortalService"]["rpc"]
    assert (config.portal.proto, config.portal.ip, config.portal.port,
            config.portal.provider_id) == (
        portal["protocol_conf"], portal["service_ip"],
        portal["service_base_port"], portal["service_provider_id"])
    query = raw["ClientQueryService"]["rpc"]
    assert config.query.port == query["service_base_port"]

    with cl.Client.from_config(path, reader=False) as client:
        assert client.backend == "chronolog"
        name = unique_name("config")
        client.create_chronicle(name)
        assert name in client.chronicles()
        client.destroy_chronicle(name)


def test_a_process_that_never_closes_its_clients_exits_cleanly(
        live_deployment):
    result = run_python(_CHILD_SETUP + """
first = cl.Client.deployment(portal, query).connect()
second = cl.Client.deployment(portal).connect()
first.create_chronicle(name)
story = second.acquire_story(name, "s")
print(story.log(b"left behind") > 0)
""", env=_child_env(live_deployment))
    assert result.stdout == b"True\n"
