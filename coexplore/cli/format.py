"""Plain-text output of the CLI: tables and summaries, printed from the API's records (``to_record()``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["print_hwsearch", "print_map", "print_network_cost", "print_timeloop_case", "table"]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print an aligned table; numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: Sequence[str], raw: Sequence[Any]) -> str:
        parts = []
        for i, c in enumerate(r):
            num = isinstance(raw[i], (int, float)) or (c[:1].isdigit() and not c[-1:].isalpha())
            parts.append(c.rjust(widths[i]) if num else c.ljust(widths[i]))
        return "  ".join(parts).rstrip()

    print(line(cells[0], headers))
    print("  ".join("-" * w for w in widths))
    for r, raw in zip(cells[1:], rows, strict=True):
        print(line(r, raw))


def print_network_cost(d: dict[str, Any]) -> None:
    rows = []
    for x in d["layers"]:
        rows.append([x["name"], f"{x['macs']:,}", f"{x['latency_cycles']:,}", f"{x['energy_pj'] / 1e6:.3f}",
                     f"{x['edp']:.3e}", f"{x['utilization']:.0%}"])
    table(["layer", "MACs", "cycles", "energy uJ", "EDP pJ*cyc", "util"], rows)
    print(f"\n{d['network']} on {d['accelerator']}: {d['latency_cycles']:,} cycles, "
          f"{d['energy_pj'] / 1e6:.3f} uJ, EDP {d['edp']:.4e} pJ*cycles, area {d['area_mm2']:.2f} mm2 "
          f"({d['seconds']:.1f} s)")


def print_map(out: dict[str, Any]) -> None:
    rows = [[x["name"] + "".join(f" {d}->{v}" for d, v in (x["padded"] or {}).items()),
             f"{x['latency_cycles']:,}", f"{x['energy_pj'] / 1e6:.3f}", f"{x['edp']:.4e}",
             f"{x['utilization']:.0%}", f"{x['evaluated']:,}", "yes" if x["optimal"] else "no"]
            for x in out["layers"]]
    table(["layer", "cycles", "energy uJ", "EDP pJ*cyc", "util", "evaluated", "optimal"], rows)
    print(f"\n{out['network']} on {out['accelerator']} ({out['mapper']}, {out['objective']}): "
          f"{out['latency_cycles']:,} cycles, {out['energy_pj'] / 1e6:.3f} uJ, EDP {out['edp']:.4e} "
          f"({out['seconds']:.1f} s)")


def _print_multi_fpga(out: dict[str, Any]) -> None:
    acc = out["best"]["accelerator"]
    table(["layer", "split", "boards", "Tm", "Tn", "Tr", "Tc", "bound", "cycles", "1 board", "speedup"],
          [[x["name"], ",".join(f"{d}={f}" for d, f in x["partition"].items() if f > 1) or "none",
            " ".join(x.get("engines", [])) or x["boards_used"], x["Tm"], x["Tn"], x["Tr"], x["Tc"], x["bound"],
            f"{x['latency_cycles']:,}", f"{x['one_board_latency_cycles']:,}", f"{x['speedup']:.2f}x"]
           for x in acc["layers"]])
    system = acc.get("system")
    where = f"system {system['name']} ({system['topology']}, {system['hop_latency_ns']:g} ns hops), " if system else ""
    print(f"\n{where}{acc['boards']} x {acc['board']} ({acc['link_gbytes_per_s'] * 8:g} Gbit/s links, "
          f"{acc['memory_ports']} memory ports): {out['best']['latency_cycles']:,} cycles = "
          f"{out['best']['latency_ms']:.3f} ms, "
          f"{acc['speedup']:.2f}x the best one-board design ({out['baseline']['latency_cycles']:,} cycles); "
          f"{out['evaluations']:,} designs in {out['seconds']:.1f} s")


def print_hwsearch(out: dict[str, Any]) -> None:
    best, base = out["best"], out["baseline"]
    if out["kind"] == "fpga" and out["mode"] == "multi-fpga":
        _print_multi_fpga(out)
        return
    if out["kind"] == "fpga":
        rows = [[f"{d['Tm']}", f"{d['Tn']}", f"{d['Tr']}", f"{d['Tc']}", f"{d['bits']}"]
                for d in best["accelerator"]["designs"]]
        table(["Tm", "Tn", "Tr", "Tc", "bits"], rows)
        res, lim = best["resources"], best["limits"]
        print(f"\n{best['accelerator']['board']} ({best['accelerator']['mode']}): {best['latency_cycles']:,} cycles "
              f"= {best['latency_ms']:.3f} ms; DSP {res['dsp']}/{lim['dsp']}, "
              f"BRAM18 {res['bram18k']}/{lim['bram18k']}; {out['evaluations']:,} designs in {out['seconds']:.1f} s")
        return
    if out.get("model") == "maestro":
        _print_maestro_hwsearch(out)
        return
    if out.get("model") == "butterfly":
        _print_butterfly_hwsearch(out)
        return
    rows = [["preset " + base["preset"], f"{base['edp']:.4e}", f"{base['energy_pj'] / 1e6:.3f}",
             f"{base['latency_cycles']:,.0f}", f"{base['area_mm2']:.3f}"],
            ["searched", f"{best['edp']:.4e}", f"{best['energy_pj'] / 1e6:.3f}",
             f"{best['latency_cycles']:,.0f}", f"{best['area_mm2']:.3f}"]]
    table(["design", "EDP pJ*cyc", "energy uJ", "cycles", "area mm2"], rows)
    acc = best["accelerator"]
    print(f"\nbest: {acc['mac']['mesh_x']}x{acc['mac']['mesh_y']} MACs; "
          + "; ".join(f"{lv['name']}" + (f" {lv['size_words']} words" if lv["size_words"] else "")
                      + (f" x{lv['instances']}" if lv["instances"] > 1 else "")
                      + (f" X:{','.join(lv['spatial_dims_x'])}" if lv["spatial_dims_x"] else "")
                      + (f" Y:{','.join(lv['spatial_dims_y'])}" if lv["spatial_dims_y"] else "")
                      for lv in acc["levels"]))
    verdict = (f"no searched design beat {base['preset']}" if out["best_is_preset"] else
               f"EDP {out['edp_ratio']:.2f}x lower than {base['preset']}")
    print(f"{verdict} ({out['strategy']}, {out['mode']}, inner mapper {out['mapper']}); "
          f"{out['evaluations']} evaluations in {out['seconds']:.1f} s ({out['evaluations_per_second']:.2f}/s)"
          + (f"; saved {out['saved']}" if out["saved"] else ""))


def _print_maestro_hwsearch(out: dict[str, Any]) -> None:
    best, base, info = out["best"], out["baseline"], out["maestro"]
    rows = [["searched " + best["accelerator"]["label"], f"{best['edp']:.4e}", f"{best['energy_pj'] / 1e6:.3f}",
             f"{best['latency_cycles']:,.0f}", f"{best['area_mm2']:.3f}"]]
    if base["edp"] is not None:
        rows.insert(0, [f"preset {base['preset']} ({info['baseline_template']})", f"{base['edp']:.4e}",
                        f"{base['energy_pj'] / 1e6:.3f}", f"{base['latency_cycles']:,.0f}", f"{base['area_mm2']:.3f}"])
    table(["design (MAESTRO)", "EDP pJ*cyc", "energy uJ", "cycles", "area mm2"], rows)
    verdict = (f"no baseline: {info['baseline_reason']}" if base["edp"] is None else
               f"no searched design beat {base['preset']}" if out["best_is_preset"] else
               f"EDP {out['edp_ratio']:.2f}x lower than {base['preset']}")
    print(f"\n{verdict} ({out['strategy']}); {out['evaluations']} evaluations of a {info['space_size']}-design space "
          f"in {out['seconds']:.1f} s" + (" (all of it)" if info["exhausted"] else ""))


def _print_butterfly_hwsearch(out: dict[str, Any]) -> None:
    best, base, info = out["best"], out["baseline"], out["butterfly"]

    def label(a: dict[str, Any]) -> str:
        return (f"{a['engines']} BEs x {a['units_per_engine']} BUs, data {a['data_buffer_words']} words/BE, "
                f"coef {a['coef_buffer_words']} words")

    rows = [["searched: " + label(best["accelerator"]), f"{best['edp']:.4e}", f"{best['energy_pj'] / 1e6:.3f}",
             f"{best['latency_cycles']:,.0f}", f"{best['area_mm2']:.3f}"]]
    if base["edp"] is not None:
        rows.insert(0, ["paper-shaped: " + label(info["baseline_accelerator"]), f"{base['edp']:.4e}",
                        f"{base['energy_pj'] / 1e6:.3f}", f"{base['latency_cycles']:,.0f}", f"{base['area_mm2']:.3f}"])
    table(["design (butterfly)", "EDP pJ*cyc", "energy uJ", "cycles", "area mm2"], rows)
    verdict = (f"no baseline: {info['baseline_reason']}" if base["edp"] is None else
               "no searched design beat the paper-shaped one" if out["best_is_preset"] else
               f"EDP {out['edp_ratio']:.2f}x lower than the paper-shaped design")
    print(f"\n{verdict} (budget {base['preset']}, {out['strategy']}); {out['evaluations']} evaluations of a "
          f"{info['space_size']}-design space in {out['seconds']:.1f} s")


def print_timeloop_case(out: dict[str, Any], diffs: list[dict[str, Any]] | None) -> None:
    """The case's counts, then where they differ from the case's Timeloop reference (None: it has none)."""
    print(f"cycles {out['cycles']}  energy {out['energy_pj']:.4f} pJ  MACs {out['macs']}  "
          f"utilization {out['utilization']:.2%}")
    rows = []
    for lv, dss in out["levels"].items():
        for ds, c in dss.items():
            rows.append([lv, ds, c["reads_per_instance"], c["fills_per_instance"], c["updates_per_instance"],
                         c["utilized_instances"], f"{c['energy_pj']:.3f}"])
    table(["level", "dataspace", "reads", "fills", "updates", "instances", "energy pJ"], rows)
    if diffs is None:
        print("\nno Timeloop reference in this case to compare with")
    elif not diffs:
        print("\nTimeloop's reference: cycles, energy (within 1e-6) and every per-instance count agree")
    else:
        print(f"\nTimeloop's reference differs in {len(diffs)} figures:")
        table(["what", "coexplore", "timeloop"], [[d["what"], d["coexplore"], d["timeloop"]] for d in diffs])
