"""Build the outcome (no Neptune call): see ``watcher.outcome.finalize``."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..observability import count_by, entrypoint, logger, metrics
from ..outcome import finalize


@entrypoint
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    final = finalize(event)
    name = final["outcome"]["outcome"]
    metrics.add_metric(name="Finalized", unit=MetricUnit.Count, value=1)
    count_by("Outcomes", "outcome", name)
    logger.info("outcome", extra={"outcome": name, "job": final["outcome"].get("job")})
    return final
