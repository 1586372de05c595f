"""Keys in an HSM never leave it, and an HSM that refuses is a clear error (issue 17, item 1;
KEY-04: keys in a security container; KEY-08: under the operator's control): SoftHSM2 through
PKCS#11, as a production HSM is used."""

from __future__ import annotations

import os
import uuid

import pkcs11
import pytest

from bastide.errors import ConfigError
from bastide.keys.pkcs11 import Pkcs11KeyManager, Pkcs11Signer, Token, close_all, shared_token


@pytest.fixture
def token(hsm):
    token = shared_token(hsm["pkcs11_module"], hsm["pkcs11_token_label"], hsm["pkcs11_pin_file"])
    yield token
    token.close()


def test_the_master_and_signing_keys_cannot_be_read_out_of_the_token(token):
    tag = uuid.uuid4().hex[:8]
    keys, signer = Pkcs11KeyManager(token, label=f"m-{tag}"), Pkcs11Signer(token, label=f"s-{tag}")
    keys.ensure_master_key()
    signer.ensure_key()
    with token.session() as session:
        master = session.get_key(object_class=pkcs11.ObjectClass.SECRET_KEY, label=f"m-{tag}")
        private = session.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=f"s-{tag}")
        for key in (master, private):
            assert key[pkcs11.Attribute.SENSITIVE] and not key[pkcs11.Attribute.EXTRACTABLE]
            with pytest.raises(pkcs11.AttributeSensitive):  # the token refuses to give the value out
                key[pkcs11.Attribute.VALUE]


def test_a_wrong_pin_a_missing_pin_file_or_token_or_library_is_a_clear_error(hsm, tmp_path):
    close_all()  # logged in, this process would not be asked for the PIN again (PKCS#11 logs in an application)
    wrong = tmp_path / "wrong-pin"
    wrong.write_text("00000000\n")
    os.chmod(wrong, 0o600)
    cases = [
        (Token(hsm["pkcs11_module"], hsm["pkcs11_token_label"], wrong), "refused the PIN"),
        (Token(hsm["pkcs11_module"], hsm["pkcs11_token_label"], tmp_path / "none"), "is missing"),
        (Token(hsm["pkcs11_module"], hsm["pkcs11_token_label"], None), "BASTIDE_PKCS11_PIN_FILE"),
        (Token(hsm["pkcs11_module"], "no-such-token", hsm["pkcs11_pin_file"]), "no token labelled"),
        (Token(tmp_path / "libnothing.so", hsm["pkcs11_token_label"], hsm["pkcs11_pin_file"]), "apt-get install"),
    ]
    for token, said in cases:
        with pytest.raises(ConfigError, match=said):
            Pkcs11KeyManager(token, label="m").wrap("dk", b"k" * 32)


def test_a_pin_file_others_can_read_is_refused(hsm, tmp_path):
    shared = tmp_path / "pin"
    shared.write_text(hsm["pkcs11_pin_file"].read_text())
    os.chmod(shared, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        Pkcs11KeyManager(Token(hsm["pkcs11_module"], hsm["pkcs11_token_label"], shared), label="m").ensure_master_key()


REMOVAL = """
import json, shutil, sys
sys.path.insert(0, sys.argv[1])
from tests.services import SoftHsm
from bastide.errors import DomainError
from bastide.keys.pkcs11 import Pkcs11KeyManager, shared_token

hsm = SoftHsm()
settings = hsm.start()
token = shared_token(settings["pkcs11_module"], settings["pkcs11_token_label"], settings["pkcs11_pin_file"])
keys = Pkcs11KeyManager(token, "removal-master")
keys.ensure_master_key()
wrapped = keys.wrap("dk-1", b"k" * 32)
said = [keys.unwrap("dk-1", wrapped) == b"k" * 32]
shutil.move(hsm.dir / "tokens", hsm.dir / "away")  # the token taken out mid-operation
(hsm.dir / "tokens").mkdir()
for _ in range(2):
    try:
        keys.unwrap("dk-1", wrapped)
        said.append("unwrapped")
    except DomainError as exc:
        said.append([type(exc).__name__, exc.message])
token.close()
hsm.stop()
print(json.dumps(said))
"""


def test_an_hsm_removed_mid_operation_is_a_clear_error_that_never_says_init(tmp_path):
    """The issue's "an HSM removed mid-operation": every call after it is KeyUnavailable naming the
    token, never a traceback, and never the advice to `bastide init` (which would make a new
    master key that opens nothing). SoftHSM2 reads its configuration once per process: the
    removal runs in a process of its own."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).parents[2])
    done = subprocess.run([sys.executable, "-c", REMOVAL, root], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != "SOFTHSM2_CONF"}, check=True)
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said[0] is True
    for kind, message in said[1:]:
        assert kind == "KeyUnavailable" and "bastide-test" in message and "removed" in message
        assert "`bastide init` on a platform that holds data" in message or "init" not in message
