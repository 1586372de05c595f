"""The Parquet KMS client Spark loads, compiled on first use with the JDK Spark needs anyway,
against the jars that pyspark ships (no Maven download: none is reachable from a SecNumCloud
enclave either). The jar is cached under a name carrying the source's hash, so a changed
client is rebuilt and an unchanged one never."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bastide.errors import ConfigError

SOURCE = Path(__file__).with_name("BrokerKmsClient.java")
CLASS = "org.bastide.kms.BrokerKmsClient"


def _cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bastide"


def spark_jars() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def kms_jar() -> Path:
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    jar = _cache() / f"bastide-kms-{digest}.jar"
    if jar.exists():
        return jar
    javac, jar_tool = shutil.which("javac"), shutil.which("jar")
    if not javac or not jar_tool:
        raise ConfigError("the Spark engine needs a JDK (javac and jar) to build its KMS client: "
                          "install openjdk-17-jdk-headless")
    jar.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=jar.parent) as tmp:
        classes = Path(tmp) / "classes"
        _run([javac, "--release", "17", "-nowarn", "-cp", f"{spark_jars()}/*", "-d", str(classes), str(SOURCE)])
        built = Path(tmp) / jar.name
        _run([jar_tool, "cf", str(built), "-C", str(classes), "."])
        os.replace(built, jar)  # whole or not at all, even with two processes building at once
    return jar


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ConfigError(f"building the Spark KMS client failed: {done.stderr.strip()[:2000]}")
