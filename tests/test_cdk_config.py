"""The ``neptune-watch`` context parser (stacks/config.py): defaults, and clear errors."""

from __future__ import annotations

import copy
from typing import Any

import conftest_cdk as h
import pytest
from neptune_watch.cdk.config import CONTEXT_KEY, ConfigError, WatchConfig, parse_config

pytestmark = pytest.mark.cdk


def _example() -> dict[str, Any]:
    return copy.deepcopy(h.context()[CONTEXT_KEY])


def test_empty_context_gives_the_defaults() -> None:
    config = parse_config(None)
    assert config == WatchConfig()
    assert config.loader is None
    assert config.event_bus.mode == "create"
    assert config.effective_state_machine_name == "NeptuneWatch-watch"
    assert config.powertools_layer_version == 37
    assert (config.defaults.timeout_seconds, config.defaults.cancel_on_timeout, config.defaults.max_errors) == (
        86400, False, 10,
    )  # fmt: skip
    assert config.poll_policy.min_wait_seconds == 14 and config.poll_policy.max_wait_seconds == 179  # bench/polling.py's choice


def test_the_cdk_json_example_parses() -> None:
    config = parse_config(_example())
    assert config.loader is not None
    assert (
        config.loader.endpoint_url
        == "https://my-cluster.cluster-abc.us-east-1.neptune.amazonaws.com:8182"
    )
    assert config.loader.cluster_resource_id == "cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert config.loader.private_subnet_ids == (
        "subnet-0123456789abcdef0",
        "subnet-0fedcba9876543210",
    )
    assert config.event_bus.name == "neptune-watch"


def _set(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return data


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("stackName", "1bad", "stackName"),
        ("stateMachineName", "has space", "stateMachineName"),
        ("powertoolsLayerVersion", "37", "valid integer"),
        ("powertoolsLayerVersion", 0, "greater than or equal to 1"),
        ("logLevel", "LOUD", "should be 'DEBUG'"),
        ("logRetentionDays", 31, "CloudWatch Logs accepts"),
        ("requestSource", "aws.neptune", "reserves sources"),
        ("outcomeSource", "com.neptunewatch.requests", "must differ"),
        ("eventBus.mode", "shared", "should be 'create'"),
        ("eventBus", {"mode": "existing"}, "needs the bus"),
        ("eventBus", {"mode": "default", "name": "x"}, "mode 'default'"),
        (
            "eventBus",
            {"mode": "existing", "arn": "arn:aws:sqs:us-east-1:123456789012:q"},
            "eventBus.arn",
        ),
        ("topic", {"kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/abc"}, "only applies"),
        ("topic.arn", "my-topic", "topic.arn"),
        ("alarmTopicArn", "arn:aws:sns:us-east-1:1234:x", "alarmTopicArn"),
        ("lockTableRemovalPolicy", "snapshot", "should be 'destroy' or 'retain'"),
        (
            "loader.clusterEndpoint",
            "https://my-cluster.cluster-abc.us-east-1.neptune.amazonaws.com:8182",
            "without https:// and port",
        ),
        ("loader.clusterResourceId", "my-cluster", "cluster resource id"),
        ("loader.vpcId", "vpc-xyz", "vpcId"),
        ("loader.privateSubnetIds", [], "at least one"),
        (
            "loader.privateSubnetIds",
            ["subnet-0123456789abcdef0"],
            "availabilityZones must name the zone",
        ),
        ("loader.securityGroupId", "sg-nothex!", "securityGroupId"),
        ("loader.port", 70000, "less than or equal to 65535"),
        ("loader.privateSubnetRouteTableIds", ["rtb-01234567"], "one entry per private subnet"),
        ("analytics.allowedGraphIds", ["my-graph"], r"allowedGraphIds\[0\]"),
        ("analytics.graphEndpoint", "graph.local", "https://"),
        ("defaults.timeoutSeconds", 0, "greater than or equal to 1"),
        ("defaults.cancelOnTimeout", "yes", "valid boolean"),
        ("defaults.maxErrors", 5000, "less than or equal to 1000"),
        ("pollPolicy.minWaitSeconds", 500, "exceeds maxWaitSeconds"),
        ("pollPolicy.waitFraction", 0, "greater than 0"),
        ("pollPolicy.maxPollsPerExecution", 10000, "less than or equal to 2500"),
        ("examples", "true", "valid boolean"),
        ("colour", "blue", "unknown key"),
        ("loader.vpcID", "vpc-0123456789abcdef0", "unknown key"),
    ],
)
def test_invalid_values_are_named(key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_config(_set(_example(), key, value))
    assert CONTEXT_KEY in str(info.value)


def test_missing_loader_fields_are_named() -> None:
    data = _example()
    del data["loader"]["clusterResourceId"]
    with pytest.raises(ConfigError, match=r"neptune-watch\.loader\.clusterResourceId is required"):
        parse_config(data)


def test_not_an_object() -> None:
    with pytest.raises(ConfigError, match="must be a JSON object"):
        parse_config(["not", "an", "object"])


def test_comment_keys_are_ignored_and_star_means_any_graph() -> None:
    data = _example()
    data["// anything"] = "a note"
    data["analytics"] = {"allowedGraphIds": ["*"], "//": "note"}
    assert parse_config(data).analytics.allowed_graph_ids == ()


def test_existing_bus_and_topic() -> None:
    data = _example()
    data["eventBus"] = {
        "mode": "existing",
        "arn": "arn:aws:events:us-east-1:123456789012:event-bus/shared",
    }
    data["topic"] = {
        "arn": "arn:aws:sns:us-east-1:123456789012:outcomes",
        "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    }
    config = parse_config(data)
    assert config.event_bus.arn.endswith("event-bus/shared")
    assert config.topic.kms_key_arn.endswith("1234567890ab")


def test_state_machine_name_default_is_cut_to_80() -> None:
    config = parse_config({"stackName": "S" * 120})
    assert len(config.effective_state_machine_name) == 80
    assert config.effective_state_machine_name.endswith("-watch")
