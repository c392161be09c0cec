#!/usr/bin/env python3
"""The neptune-watch CDK app: ``npx cdk synth`` (see cdk.json) runs this file.

It reads the ``neptune-watch`` context of cdk.json, builds the stack (and the example parents
when ``examples`` is true), and checks everything with the cdk-nag v2 packs AwsSolutions and
Serverless. It makes no AWS call: the stacks are environment-agnostic, so synth needs no
credentials and no network.
"""

from __future__ import annotations

import sys

from neptune_watch.toolchain import use_packaged_node

# jsii (the bridge to the CDK's JavaScript) runs on the Node 22 LTS that make setup installs.
use_packaged_node()

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks, ServerlessChecks  # noqa: E402
from neptune_watch.cdk.config import CONTEXT_KEY, ConfigError, parse_config  # noqa: E402
from neptune_watch.cdk.examples_stack import NeptuneWatchExamplesStack  # noqa: E402
from neptune_watch.cdk.watch_stack import NeptuneWatchStack  # noqa: E402


def build(app: cdk.App) -> list[cdk.Stack]:
    """Add the stacks the configuration asks for to ``app``."""
    try:
        config = parse_config(app.node.try_get_context(CONTEXT_KEY))
    except ConfigError as err:
        raise SystemExit(f"cdk.json context {CONTEXT_KEY!r} is invalid: {err}") from None
    watch_stack = NeptuneWatchStack(
        app,
        config.stack_name,
        config=config,
        description="neptune-watch: watch Neptune bulk loads and Neptune Analytics import/export tasks",
    )
    stacks: list[cdk.Stack] = [watch_stack]
    # "npx cdk synth -c neptune-watch:examples=true" turns the examples on without editing cdk.json.
    examples_flag = app.node.try_get_context(f"{CONTEXT_KEY}:examples")
    if examples_flag is not None:
        config = config.model_copy(update={"examples": str(examples_flag).lower() == "true"})
    if config.examples:
        examples = NeptuneWatchExamplesStack(
            app,
            f"{config.stack_name}-Examples",
            watch_state_machine_name=watch_stack.watch.state_machine_name,
            description="neptune-watch: example parent state machines that run a watch",
        )
        examples.add_stack_dependency(watch_stack, "the example parents start the watcher")
        stacks.append(examples)
    return stacks


def main() -> None:
    app = cdk.App(analytics_reporting=False)
    build(app)
    # cdk-nag v2 (Aspects + NagSuppressions), pinned <3: v3 is still experimental.
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    cdk.Aspects.of(app).add(ServerlessChecks(verbose=True))
    app.synth()


if __name__ == "__main__":
    sys.exit(main())
