"""Time per federated round: Edgeward's apps against a bare Flower FedAvg app, same deployment.

One TLS SuperLink and three SuperNodes (separate processes, as on a fleet), each over a store
with a day of simulated data; both apps train the same MLP one epoch per round on the same
windows. The bare app is Flower's stock loop: a train and an evaluate message per site per
round, replies pulled with the stock Grid. Edgeward's round is one train message whose reply
carries the evaluation, pulled every 0.25 s. Edgeward's extra steps (federated statistics
before the rounds, champion-vs-challenger after them) are reported apart. Prints one JSON
object with edgeward_round_s, bare_flower_round_s and ratio (goal <= 1.15).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from support.fleet import END_TS, ROOT, quiet

from aggregator.runs import RunSubmitter
from aggregator.superlink import CONNECTION, SuperLinkOptions, SuperLinkProcess
from certs import create_authority
from edge_agent.learning.simulated_site import SimulatedHistory, fill_simulated_site
from edge_agent.learning.supernode import SuperNodeOptions, SuperNodeSupervisor
from tests.support.mosquitto import free_port

BARE_APP = ROOT / "benchmarks" / "bare_flower_app"
NODES = 3


def main() -> None:
    """Run both apps on one deployment and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    quiet()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        authority = create_authority(root / "pki")
        authority.issue_server("superlink", dns_names=["localhost"], ip_addresses=["127.0.0.1"])
        superlink = SuperLinkProcess(
            SuperLinkOptions(
                host="127.0.0.1",
                port=free_port(),
                state_dir=root / "superlink",
                ca_file=authority.cert_path,
                cert_file=root / "pki" / "superlink.pem",
                key_file=root / "pki" / "superlink.key",
            )
        )
        superlink.start()
        supernodes = []
        try:
            for index in range(NODES):
                site = f"site-{index}"
                fill_simulated_site(
                    root / site, SimulatedHistory(site=site, seed=index, days=1.0, end_ts=END_TS)
                )
                node = SuperNodeSupervisor(
                    SuperNodeOptions(
                        superlink=superlink.options.address,
                        runtime_port=free_port(),
                        node_config={"data-dir": str(root / site), "site": site},
                        log_file=root / f"{site}.log",
                        root_certificates=authority.cert_path,
                    )
                )
                node.start()
                supernodes.append(node)
            runs = RunSubmitter(superlink, root)
            started = time.perf_counter()
            run_id = runs.submit(
                {
                    "rounds": args.rounds,
                    "min-nodes": NODES,
                    "state-dir": str(root),
                    "round-timeout-s": 300.0,
                }
            )
            outcome = runs.wait(run_id, timeout_s=900)
            edgeward_total = time.perf_counter() - started
            if outcome.status != "completed":
                raise SystemExit(f"Edgeward's run {outcome.status}: {outcome.detail}")
            result_file = root / "bare.json"
            started = time.perf_counter()
            superlink.flwr(
                "run",
                str(BARE_APP),
                CONNECTION,
                "--run-config",
                f'rounds={args.rounds} min-nodes={NODES} result-file="{result_file}"',
            )
            deadline = time.monotonic() + 900
            while not result_file.exists() and time.monotonic() < deadline:
                time.sleep(0.5)
            bare_total = time.perf_counter() - started
            bare = json.loads(result_file.read_text())
        finally:
            for node in supernodes:
                node.stop()
            superlink.stop()
    edgeward_round = outcome.timings_s["rounds"] / args.rounds
    bare_round = bare["seconds"] / args.rounds
    print(
        json.dumps(
            {
                "nodes": NODES,
                "rounds": args.rounds,
                "edgeward_round_s": round(edgeward_round, 2),
                "bare_flower_round_s": round(bare_round, 2),
                "ratio": round(edgeward_round / bare_round, 3),
                "edgeward_statistics_s": outcome.timings_s["statistics"],
                "edgeward_evaluation_s": outcome.timings_s["evaluation"],
                "edgeward_run_total_s": round(edgeward_total, 1),
                "bare_flower_run_total_s": round(bare_total, 1),
                "goals": {"ratio": "<= 1.15"},
            }
        )
    )


if __name__ == "__main__":
    main()
