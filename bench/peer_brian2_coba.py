#!/usr/bin/python3
"""peer_brian2_coba: Brian2's COBA benchmark (examples/COBA.py) with the cython runtime, timed, for bench_snn.

Runs the same network as examples/snn/coba.json (Vogels & Abbott 2005: N neurons, 80 % excitatory, connection
probability p, 1 s at dt = 0.1 ms) and prints one JSON line: wall time of run() (code generation and compilation
excluded: a first, short run warms Brian2's cython cache), mean rate and spike count. Must run under Debian's own
/usr/bin/python3 (python3-brian is not visible to a pyenv or venv interpreter that may come first on PATH).
"""
import argparse
import json
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--neurons", type=int, default=4000)
    ap.add_argument("--p", type=float, default=0.02)
    ap.add_argument("--duration-ms", type=float, default=1000.0)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--target", default="cython", choices=["cython", "numpy"])
    a = ap.parse_args()

    import logging
    logging.disable(logging.WARNING)
    import brian2 as b2
    from brian2 import ms, mV, second

    b2.prefs.codegen.target = a.target
    b2.seed(a.seed)

    def build():
        b2.start_scope()
        taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
        Vt, Vr, El = -50 * mV, -60 * mV, -60 * mV
        Erev_exc, Erev_inh = 0 * mV, -80 * mV
        I = 20 * mV
        eqs = """
        dv/dt  = (ge*(Erev_exc-v)+gi*(Erev_inh-v)-(v-El) + I)*(1./taum) : volt (unless refractory)
        dge/dt = -ge/taue : 1
        dgi/dt = -gi/taui : 1
        """
        P = b2.NeuronGroup(a.neurons, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms,
                           method="exponential_euler", namespace=locals(), name="coba_neurons")
        P.v = "Vr + rand() * (Vt - Vr)"
        P.ge = 0
        P.gi = 0
        ne = int(a.neurons * 0.8)
        we, wi = 6.0 / 10.0, 67.0 / 10.0
        Ce = b2.Synapses(P, P, on_pre="ge += we", namespace={"we": we}, name="coba_exc")
        Ci = b2.Synapses(P, P, on_pre="gi += wi", namespace={"wi": wi}, name="coba_inh")
        Ce.connect(f"i<{ne}", p=a.p)
        Ci.connect(f"i>={ne}", p=a.p)
        s_mon = b2.SpikeMonitor(P, name="coba_spikes")
        net = b2.Network(P, Ce, Ci, s_mon, name="coba")
        return net, s_mon, Ce.N[:] + Ci.N[:]

    b2.defaultclock.dt = 0.1 * ms
    net, _, _ = build()
    net.run(5 * ms)   # warm-up: compiles every code object into the cython cache (fixed names: same code)
    net, s_mon, synapses = build()
    t0 = time.perf_counter()
    net.run(a.duration_ms * ms)
    wall = time.perf_counter() - t0
    n_spikes = int(s_mon.num_spikes)
    print(json.dumps({"peer": "brian2", "target": a.target, "brian2": b2.__version__, "neurons": a.neurons,
                      "p": a.p, "synapses": int(synapses), "duration_ms": a.duration_ms, "wall_s": wall,
                      "spikes": n_spikes, "rate_hz": n_spikes / (a.neurons * a.duration_ms * 1e-3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
