"""What an HSM costs: data-key unwrap and signing through PKCS#11 (SoftHSM2) against the key file,
measured in the same run (issue 17, item 1).

    .venv/bin/python bench/keys.py            # SoftHSM2 must be installed (apt-get install softhsm2)

Both sides do the same work: unwrap one wrapped 256-bit data key (AES-256-GCM, its id as
associated data) and sign a 1 KiB manifest (Ed25519), through `LocalKeyManager`/`Signer` (key
files, the cipher cached in the process) or `Pkcs11KeyManager`/`Pkcs11Signer` (one logged-in
session, the key looked up by label at each call). Rounds interleave the two sides; the medians
are compared. Where the unwrap happens: once per workspace engine start, job start, extract build
or ingest, and at each sign-in (the TOTP secret) — never per workspace query (the engine holds
its key), so the HSM adds nothing to a query's fixed overhead (11.3 ms, bench/boundary.py).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from bastide.keys.local import LocalKeyManager  # noqa: E402
from bastide.keys.pkcs11 import Pkcs11KeyManager, Pkcs11Signer, shared_token  # noqa: E402
from bastide.keys.signing import Signer  # noqa: E402
from tests.services import SoftHsm  # noqa: E402 - the token the tests use

ROUNDS, BATCH = 15, 200


def _per_call(fn) -> float:
    began = time.perf_counter()
    for _ in range(BATCH):
        fn()
    return (time.perf_counter() - began) / BATCH


def main() -> None:
    hsm = SoftHsm()
    settings = hsm.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            local_keys, local_signer = LocalKeyManager(Path(tmp) / "master.key"), Signer(Path(tmp) / "signing.pem")
            token = shared_token(settings["pkcs11_module"], settings["pkcs11_token_label"], settings["pkcs11_pin_file"])
            hsm_keys, hsm_signer = Pkcs11KeyManager(token, "bench-master"), Pkcs11Signer(token, "bench-signing")
            sides = {"key file": (local_keys, local_signer), "SoftHSM2": (hsm_keys, hsm_signer)}
            work = {}
            for name, (keys, signer) in sides.items():
                keys.ensure_master_key()
                signer.ensure_key()
                wrapped = keys.wrap("dk-bench", b"k" * 32)
                work[name] = (lambda k=keys, w=wrapped: k.unwrap("dk-bench", w),
                              lambda s=signer: s.sign(b"m" * 1024))
            times = {(name, op): [] for name in sides for op in ("unwrap", "sign")}
            for round_ in range(ROUNDS + 1):  # the first round warms both sides, unmeasured
                for name in (list(sides) if round_ % 2 else list(reversed(sides))):
                    for op, fn in zip(("unwrap", "sign"), work[name]):
                        took = _per_call(fn)
                        if round_:
                            times[(name, op)].append(took)
            for op in ("unwrap", "sign"):
                local, token_ = (statistics.median(times[(n, op)]) for n in sides)
                print(f"{op}: key file {local * 1e6:.1f} µs, SoftHSM2 {token_ * 1e6:.1f} µs -> {token_ / local:.1f}x, "
                      f"{(token_ - local) * 1e6:.1f} µs more a call (medians of {ROUNDS} interleaved rounds of {BATCH})")
            token.close()
    finally:
        hsm.stop()


if __name__ == "__main__":
    main()
