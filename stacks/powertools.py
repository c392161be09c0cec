"""The Powertools for AWS Lambda (Python) layer the functions run with, tied to one release.

The functions import ``aws_lambda_powertools`` from the public layer, not from the asset, so
the layer must carry the release the tests run (``lambdas/requirements.txt`` and the lock) and
match the functions' runtime and architecture. ``POWERTOOLS_RELEASE`` is the one place of that
release; ``tests/test_cdk_powertools.py`` checks it against the installed package.

Layer versions per release: the versioned install page of each release lists its layer ARN,
https://docs.aws.amazon.com/powertools/python/<release>/getting-started/install/ ("Lambda
Layer": ``arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-
{python_version}-{arch}:N``; the same N for every Python version and architecture).
"""

from __future__ import annotations

import re

from .errors import LayerMismatchError

LAYER_ACCOUNT = "017000801446"
FUNCTION_PYTHON = "3.14"
"""The functions' runtime (``python3.14``)."""
FUNCTION_ARCHITECTURE = "arm64"
"""The functions' architecture."""
LAYER_NAME = f"AWSLambdaPowertoolsPythonV3-python{FUNCTION_PYTHON.replace('.', '')}-{FUNCTION_ARCHITECTURE}"

POWERTOOLS_RELEASE = "3.37.0"
"""The Powertools release the functions run, and the tests with them."""
LAYER_VERSIONS = {"3.37.0": 37}
"""Powertools release -> version N of the public ``AWSLambdaPowertoolsPythonV3-*`` layers."""
DEFAULT_LAYER_VERSION = LAYER_VERSIONS[POWERTOOLS_RELEASE]

_NAME = re.compile(r"python(?P<major>\d)(?P<minor>\d+)-(?P<arch>x86_64|arm64)", re.IGNORECASE)
_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:(?P<name>[A-Za-z0-9_-]{1,140}):\d+$")


def public_layer_arn(region: str, version: int = DEFAULT_LAYER_VERSION) -> str:
    """ARN of the public Powertools layer for the functions' runtime and architecture (in the
    ``aws`` partition; other partitions publish it from other accounts: ``powertoolsLayerArn``)."""
    return f"arn:aws:lambda:{region}:{LAYER_ACCOUNT}:layer:{LAYER_NAME}:{version}"


def check_layer_arn(arn: str) -> str:
    """``arn`` if it is a layer ARN usable by the functions; LayerMismatchError otherwise.

    A layer whose name says its Python version and architecture (as the public Powertools
    layers do) must say the functions' own; a private copy with another name is taken as is.
    """
    match = _ARN.match(arn)
    if match is None:
        raise ValueError(f"{arn!r} is not a layer version ARN (arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>)")
    name = _NAME.search(match["name"])
    if name is None:
        return arn
    python = f"{name['major']}.{name['minor']}"
    if python != FUNCTION_PYTHON or name["arch"].lower() != FUNCTION_ARCHITECTURE:
        raise LayerMismatchError(
            f"layer {match['name']} is built for python{python} on {name['arch']}, but the functions "
            f"run python{FUNCTION_PYTHON} on {FUNCTION_ARCHITECTURE}: use the ...-python"
            f"{FUNCTION_PYTHON.replace('.', '')}-{FUNCTION_ARCHITECTURE} layer"
        )
    return arn
