"""IAM for start requests (docs/CONTRACT.md section 4): what the three start functions may do.

Each start function may start its kind of job and read what it needs to tell whether an
earlier, timed-out attempt already started it (watcher/start.py), on the deployment's own
resources only:

- loader start: ``neptune-db:StartLoaderJob``, ``ListLoaderJobs`` and ``GetLoaderJobStatus`` on
  the cluster (``arn:aws:neptune-db:<region>:<account>:<cluster-resource-id>/*``). The load's
  ``iamRoleArn`` is the role attached to the cluster, which Neptune itself assumes: no
  ``iam:PassRole`` for it.
- import / export start: ``neptune-graph:StartImportTask`` / ``StartExportTask`` authorize on the
  graph and on the (new) task; ``ListImportTasks`` / ``ListExportTasks`` and the Get calls on the
  tasks. Graphs are the allowed ones (``analytics.allowedGraphIds``, or every graph of the
  account). ``iam:PassRole`` only for ``analytics.passRoleArns``, only towards
  ``neptune-graph.amazonaws.com`` (``iam:PassedToService``), as the Service Authorization
  Reference lists for these operations:
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonneptuneanalytics.html
"""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam

# Besides the start action itself (``watcher.names.FUNCTIONS``, granted like every function's one
# Neptune action): what the no-double-start check reads.
CHECK_ACTIONS = {
    "loader_start": ("neptune-db:ListLoaderJobs", "neptune-db:GetLoaderJobStatus"),
    "import_start": ("neptune-graph:ListImportTasks", "neptune-graph:GetImportTask"),
    "export_start": ("neptune-graph:ListExportTasks", "neptune-graph:GetExportTask"),
}
START_ACTIONS = {"import_start": "neptune-graph:StartImportTask", "export_start": "neptune-graph:StartExportTask"}
PASSED_TO_SERVICE = "neptune-graph.amazonaws.com"


def graph_arns(scope: Any, graph_ids: tuple[str, ...]) -> list[str]:
    stack = Stack.of(scope)
    return [
        stack.format_arn(service="neptune-graph", resource="graph", resource_name=graph, arn_format=ArnFormat.SLASH_RESOURCE_NAME)
        for graph in (graph_ids or ("*",))
    ]


def grant_start(scope: Any, roles: dict[str, iam.IRole], resources: dict[str, str], props: Any) -> None:
    """Add the start functions' policies (``resources``: the construct's Neptune resource ARNs)."""
    if "loader" in resources:
        roles["loader_start"].add_to_principal_policy(
            iam.PolicyStatement(actions=list(CHECK_ACTIONS["loader_start"]), resources=[resources["loader"]])
        )
    graphs = graph_arns(scope, props.analytics.allowed_graph_ids)
    for key, kind in (("import_start", "import"), ("export_start", "export")):
        role = roles[key]
        role.add_to_principal_policy(iam.PolicyStatement(actions=list(CHECK_ACTIONS[key]), resources=[resources[kind]]))
        # Starting authorizes on the graph too (the task's own resource is granted with the action).
        role.add_to_principal_policy(iam.PolicyStatement(actions=[START_ACTIONS[key]], resources=graphs))
        if props.analytics.pass_role_arns:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=list(props.analytics.pass_role_arns),
                    conditions={"StringEquals": {"iam:PassedToService": PASSED_TO_SERVICE}},
                )
            )
