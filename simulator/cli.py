"""The `plasticity` command: the same grammar as the Python API, errors without tracebacks."""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import textwrap

from ._errors import PlasticityError

EXAMPLES = """\
examples:
  plasticity simulate --dose "ketamine 10 mg/kg ip" --species mouse --hours 72 --out ketamine.csv --plot ketamine.png
  plasticity simulate --dose "rapamycin 0.2 nmol icv at -30 min" --dose "ketamine 10 mg/kg ip" --species rat
  plasticity simulate --dose "ketamine 0.5 mg/kg iv over 40 min" --species human --hours 336
  plasticity simulate --dose "esketamine 56 mg intranasal twice weekly for 4 weeks" --species human --at 24,168,672
  plasticity simulate --dose "ketamine 10 mg/kg ip" --vs "rapamycin 0.2 nmol icv at -30 min; ketamine 10 mg/kg ip" --species rat --plot blocker.png
  plasticity simulate --dose "lsd 10 nM bath for 15 min" --species culture --hours 72
  plasticity simulate --dose "ketamine 10 mg/kg ip" --genotype met/met --cut mtorc1_to_bdnf
  plasticity simulate --dose "ketamine 10 mg/kg ip" --clamp "mtorc1=0 from 2 h to 6 h" --scale trkb=0.5
  plasticity compounds
  plasticity compounds ketamine

dose grammar: <compound> <amount> <unit> <route> [at T] [over T] [every T | daily | twice weekly | weekly ...] [x N | for T]
  units mg/kg, ug/kg (µg/kg), mg, ug, nmol; nM or uM with route 'bath' (species culture)
  routes ip, iv, sc, oral (po), intranasal (in), icv, bath; times like 30 min, 2 h, 3.5 d
"""


CONDITION_HELP = "none | chronic_stress | chronic_corticosterone (models/conditions.toml); start from that condition's steady state"

DEFAULT_HOURS = 72.0
AFTER_LAST_DOSE_H = 72.0  # an automatic --hours follows the last administration this long


def auto_hours(regimens: list, at: list[float]) -> tuple[float, str]:
    """--hours when none is given: 72, or longer when a dose or an --at time comes later; with the reason ('' for 72)."""
    last = max((t for reg in regimens for d in reg for t in d.times_h), default=0.0)
    hours, why = DEFAULT_HOURS, ""
    if last > DEFAULT_HOURS:
        hours = math.ceil(last + AFTER_LAST_DOSE_H)
        why = f"{AFTER_LAST_DOSE_H:g} h after the last administration at {last:g} h"
    if at and max(at) > hours:
        hours, why = math.ceil(max(at)), f"the latest --at time, {max(at):g} h"
    return float(hours), why


def _summary_lines(result, at: list[float] | None) -> list[str]:
    """The printed summary: rise (peak) or fall (minimum) of glutamate and mTORC1, then the readouts at each time."""
    s = result.summary(at or None)
    lines = []
    for col, label in (("glutamate", "glutamate"), ("mtorc1", "mTORC1")):
        if f"{col}_peak_fold" in s:
            lines.append(f"  {label + ' peak':<18}{s[f'{col}_peak_fold']:.2f}x baseline at {s[f'{col}_peak_h']:.1f} h")
        if f"{col}_min_fold" in s:
            lines.append(f"  {label + ' minimum':<18}{s[f'{col}_min_fold']:.2f}x baseline at {s[f'{col}_min_h']:.1f} h")
        if f"{col}_peak_fold" not in s and f"{col}_min_fold" not in s:
            lines.append(f"  {label:<18}unchanged (within 0.1% of vehicle)")
    for h in at or result.summary_times():
        lines.append(
            f"  spine density     {s[f'spine_gain_{h:g}h_pct']:+.1f}% vs vehicle at {h:g} h"
            f"   (glutamate {s[f'glutamate_{h:g}h']:.2f}x, mTORC1 {s[f'mtorc1_{h:g}h']:.2f}x)"
        )
    return lines


def _names(text: str) -> list[str]:
    """A comma-separated list of names ('mtorc1, spine_density')."""
    return [n.strip() for n in text.split(",") if n.strip()]


def _vs_regimen(text: str) -> list[str]:
    """A --vs run: doses separated by ';' ('rapamycin 0.2 nmol icv at -30 min; ketamine 10 mg/kg ip'), or 'vehicle'."""
    if text.strip().lower() == "vehicle":
        return []
    doses = [d.strip() for d in text.split(";") if d.strip()]
    if not doses:
        raise PlasticityError(f"--vs: expected a regimen such as 'rapamycin 0.2 nmol icv at -30 min; ketamine 10 mg/kg ip' or 'vehicle', got {text!r}")
    return doses


def _simulate(args: argparse.Namespace) -> int:
    from ._simulate import simulate
    from .model.interventions import parse_clamp, parse_scale
    from .model.regimen import Regimen

    doses = list(args.dose or [])
    if args.regimen:
        doses.extend(Regimen.from_toml(args.regimen).doses)
    at = _floats(args.at, "--at") if args.at else []
    if any(not math.isfinite(h) for h in at):
        raise PlasticityError(f"--at: expected finite times in hours, got {args.at!r}")
    runs = {"; ".join(str(d) for d in Regimen.coerce(doses)) or "vehicle": doses}
    for v in args.vs or []:
        runs.setdefault("; ".join(str(d) for d in Regimen.coerce(_vs_regimen(v))) or "vehicle", _vs_regimen(v))
    hours = args.hours
    if hours is None:
        hours, why = auto_hours([Regimen.coerce(r) for r in runs.values()], at)
        if why:
            print(f"note: no --hours given; simulating to {hours:g} h ({why}). Set --hours to choose.", file=sys.stderr)
    opts = dict(species=args.species, hours=hours, params=dict(_parse_param(p) for p in args.param or []), genotype=args.genotype,
                cut=args.cut or (), scale=parse_scale(args.scale or []), clamp=parse_clamp(args.clamp or []), condition=args.condition)
    results = {name: simulate(regimen, **opts) for name, regimen in runs.items()}
    for name, result in results.items():
        print(f"{name} | species {result.provenance['species']} | genotype {result.provenance['genotype']}"
              + (f" | condition {result.provenance['condition']}" if result.provenance["condition"] != "none" else ""))
        print("\n".join(_summary_lines(result, at)))
    result = next(iter(results.values()))
    if len(results) > 1:
        from .analysis.compare import Comparison

        cmp = Comparison(results)
        if args.out:
            from ._io import write_table

            prov = {"runs": {name: r.provenance for name, r in results.items()}}
            print(f"  wrote {write_table(cmp.timecourse, args.out, prov)} (one table, a 'run' column first)")
        if args.plot:
            cmp.plot(args.plot, **({"columns": _names(args.columns)} if args.columns else {}))
            print(f"  wrote {args.plot}")
        return 0
    if args.out:
        print(f"  wrote {result.save(args.out)}")
    if args.plot:
        result.plot(args.plot, columns=_names(args.columns) if args.columns else None)
        print(f"  wrote {args.plot}")
    return 0


def _parse_param(item: str) -> tuple[str, float]:
    m = re.match(r"^\s*([A-Za-z_][\w]*)\s*=\s*(\S+)\s*$", item)
    if not m:
        raise PlasticityError(f"--param: expected NAME=VALUE such as k_glutamate=5, got {item!r}")
    try:
        return m[1], float(m[2])
    except ValueError:
        raise PlasticityError(f"--param: value {m[2]!r} for {m[1]} is not a number") from None


def _compounds(args: argparse.Namespace) -> int:
    from .model.files import load_library

    lib = load_library()
    if not args.name:
        width = max(len(c.name) for c in lib.compounds.values())
        wid = max(len(c.id) for c in lib.compounds.values())
        print(f"{'name':<{width}}  {'id':<{wid}}  summary  [species with PK]")
        for c in sorted(lib.compounds.values(), key=lambda c: c.name):
            species = ", ".join(sorted(c.pk)) or "culture only"
            print(f"{c.name:<{width}}  {c.id:<{wid}}  {c.summary}  [PK: {species}]")
        print("a regimen takes the name, the id or an alias; columns and parameters use the id (e.g. <id>_brain_nM)")
        return 0
    c = lib.compound(args.name)
    print(f"{c.name}  (id {c.id}: columns {c.id}_brain_nM, {c.id}_plasma_nM; compounds/{c.id}.toml)")
    if c.aliases:
        print(f"  also: {', '.join(c.aliases)}")
    print(textwrap.fill(c.mechanism, 100, initial_indent="  ", subsequent_indent="  "))
    print(f"  molar mass {c.molar_mass.value:g} g/mol  [{c.molar_mass.source}]")
    print("  targets:")
    for t in c.targets.values():
        extra = f", efficacy {t.efficacy.value:g}" if t.efficacy else ""
        extra += f", tau {t.tau.value:g}" if t.tau else ""
        extra += f", hallucinogenic efficacy {t.hallucinogenic_efficacy.value:g}" if t.hallucinogenic_efficacy else ""
        extra += f", koff {t.koff.value:g} /h" if t.koff else ""
        print(f"    {t.target}: potency {t.potency.value:g} nM, Hill {t.hill.value:g}{extra}  [{t.potency.source}]")
    for sp_, pk in c.pk.items():
        print(f"  PK in {sp_} (routes: {', '.join(sorted(pk.routes))}):")
        for name, p in list(pk.params.items()) + [(f"{r}.{k}", v) for r, rp in pk.routes.items() for k, v in rp.items()]:
            print(f"    {name} = {p.value:g} {p.unit}  [{p.source}]")
        for m in pk.metabolites:
            print(f"    -> {m.compound}: fraction {m.fraction.value:g}  [{m.fraction.source}]")
        for route, to in pk.first_pass.items():
            for m, share in to.items():
                print(f"    -> {m} in the {route} first pass: share {share.value:g} of the non-bioavailable part  [{share.source}]")
    return 0


def _model_options(args: argparse.Namespace) -> tuple[list, dict]:
    """Regimen and setup() keywords from the shared model options of export and show-model."""
    from .model.interventions import parse_clamp, parse_scale
    from .model.regimen import Regimen

    doses = list(args.dose or [])
    if args.regimen:
        doses.extend(Regimen.from_toml(args.regimen).doses)
    opts = dict(species=args.species, params=dict(_parse_param(p) for p in args.param or []), genotype=args.genotype,
                cut=args.cut or (), scale=parse_scale(args.scale or []), clamp=parse_clamp(args.clamp or []), condition=args.condition)
    return doses, opts


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dose", action="append", metavar="DOSE", help="a dose string; repeat for several (none = vehicle)")
    p.add_argument("--regimen", metavar="FILE.toml", help="a regimen file")
    p.add_argument("--species", default="mouse", help="mouse | rat | human | culture (default mouse)")
    p.add_argument("--genotype", default="wild_type", help="wild_type | val/met | met/met | trkb_knockdown")
    p.add_argument("--condition", default="none", help=CONDITION_HELP + " (sweep: a comma-separated list is a sweep axis)")
    p.add_argument("--cut", action="append", metavar="EDGE", help="cut a feedback edge")
    p.add_argument("--scale", action="append", metavar="NODE=F", help="scale a node, e.g. trkb=0.5")
    p.add_argument("--clamp", action="append", metavar="SPEC", help="clamp a node: 'mtorc1=0 from 2 h to 6 h'")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="override a parameter")


def _export(args: argparse.Namespace) -> int:
    from .sbml.export import to_sbml

    if args.format != "sbml":
        raise PlasticityError(f"--format: unknown export format {args.format!r}; expected 'sbml'")
    doses, opts = _model_options(args)
    to_sbml(doses, path=args.out, **opts)
    print(f"wrote {args.out} (SBML Level 3 Version 2)")
    return 0


def _show_model(args: argparse.Namespace) -> int:
    from ._textview import show_model

    doses, opts = _model_options(args)
    print(show_model(doses, **opts), end="")
    return 0


def _parameters_cmd(args: argparse.Namespace) -> int:
    from ._io import atomic_write
    from .model.parameters import parameters, table_text

    compounds = [c.strip() for c in (args.compound or []) for c in c.split(",") if c.strip()]
    table = parameters(args.species, compounds, condition=args.condition, genotype=args.genotype)
    if args.csv:
        atomic_write(args.csv, lambda tmp: table.to_csv(tmp, index=False))
        print(f"  wrote {args.csv} ({len(table)} parameters)")
    else:
        print(table_text(table))
    return 0


def _sweep_cmd(args: argparse.Namespace) -> int:
    import pandas as pd

    from .analysis.sweep import parse_vary, sweep

    doses, opts = _model_options(args)
    if "," in opts["condition"]:  # a list of conditions is a sweep axis
        opts["condition"] = [c.strip() for c in opts["condition"].split(",")]
    vary = dict(parse_vary(v) for v in args.vary or [])
    population = {k: float(v) for k, v in (_parse_param(x) for x in args.population or [])}
    df = sweep(doses, vary=vary, design=args.design, n=args.n, seed=args.seed, population=population or None, hours=args.hours,
               out=args.out, chunk_size=args.chunk_size, scheduler=args.scheduler, workers=args.workers, progress=True, **opts)
    if isinstance(df, pd.DataFrame):
        members, ok, on_disk = len(df), int((df["status"] == "ok").sum()) if len(df) else 0, ""
    else:  # above MAX_MEMBERS_IN_MEMORY members the table stays on disk: a pyarrow dataset, counted a file at a time
        import pyarrow.dataset as ds

        members, ok = df.count_rows(), df.count_rows(filter=ds.field("status") == "ok")
        on_disk = " (the table is on disk, too large to read at once: read it in parts with pyarrow.dataset)"
    print(f"{members} members, {ok} ok, {members - ok} failed" + (f"; wrote {args.out}" if args.out else "") + on_disk)
    if not args.out:
        print(df.describe().T.to_string())
    return 0 if ok == members else 1


def _validate(args: argparse.Namespace) -> int:
    from ._notice import notice

    with notice("validate: loading the model and its targets..."):  # seconds before the first target: say so at once
        from .validation.targets import pass_rates, validate

    details: dict = {}
    df = validate(args.ids, progress=True, _details=details)
    w = max(len(t) for t in df["title"]) if len(df) else 10
    print(f"{'id':<4} {'set':<5} {'target':<{w}} {'conf':<4} {'simulated':>10}  {'status':<12} expected  [source]")
    for r in df.itertuples():
        sim = "" if r.simulated != r.simulated else f"{r.simulated:.3g} {r.unit}"
        print(f"{r.id:<4} {r.set[:4]:<5} {r.title:<{w}} {r.confidence:<4} {sim:>10}  {r.status:<12} {r.expected}  [{r.source}]")
    n = df["status"].value_counts()
    r_miss = df[(df["status"] == "miss") & (df["confidence"] == "R")]
    print(f"{n.get('pass', 0)} pass, {n.get('miss', 0)} miss ({len(r_miss)} R), {n.get('not run', 0)} not run, {n.get('out of scope', 0)} out of scope")
    print("; ".join(f"{name} set: {p}/{t} pass ({100 * p / t:.0f}%)" for name, (p, t) in pass_rates(df).items() if t))
    if args.report:
        from .validation.report import write_report

        for path in write_report(df, details["runner"], args.report):
            print(f"wrote {path}")
    return 1 if args.strict and len(r_miss) else 0


def _floats(text: str, field: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise PlasticityError(f"{field}: expected comma-separated numbers such as 1,3,10, got {text!r}") from None


def _dose_response_cmd(args: argparse.Namespace) -> int:
    from .analysis.doseresponse import dose_response

    dr = dose_response(args.template or args.compound, _floats(args.doses, "--doses"), species=args.species, readout=args.readout,
                       params=dict(_parse_param(p) for p in args.param or []))
    print(dr.table.to_string(index=False))
    print(dr.summary())
    if args.plot:
        dr.plot(args.plot)
        print(f"  wrote {args.plot}")
    return 0


def _sensitivity_cmd(args: argparse.Namespace) -> int:
    from .analysis.sensitivity import sensitivity

    times = _floats(args.times, "--times")
    kw = dict(species=args.species, readout=args.readout, times=times, overrides=dict(_parse_param(p) for p in args.param or []))
    if args.params:
        kw["params"] = [n.strip() for n in args.params.split(",") if n.strip()]
    if args.method != "local":
        kw["n"] = args.n
    sens = sensitivity(args.dose or [], method=args.method, **kw)
    print(f"{args.method} sensitivity of {args.readout} ({sens.runs} runs); most influential at {times[-1]:g} h:")
    print(sens.at(times[-1]).head(args.top).to_string(index=False))
    if args.out:
        from ._io import atomic_write

        atomic_write(args.out, lambda tmp: sens.table.to_csv(tmp, index=False))
        print(f"  wrote {args.out}")
    if args.plot:
        sens.plot(args.plot)
        print(f"  wrote {args.plot}")
    return 0


def _fit_cmd(args: argparse.Namespace) -> int:
    from .analysis.fitting import fit

    f = fit(args.data, args.fit_param, regimen=args.dose or [], species=args.species)
    print(f.table.to_string(index=False))
    print(f"  {int(f.level * 100)}% confidence intervals from the Fisher information; cost {f.cost:.4g}; {f.message}")
    if args.plot:
        f.plot(args.plot)
        print(f"  wrote {args.plot}")
    return 0


class UsageError(PlasticityError):
    """A command line argparse cannot read: printed as one 'error:' line, never the usage block."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (one line, with the closest valid name) instead of printing usage and exiting."""

    def __init__(self, *args, **kwargs):
        self.options: list[str] = []  # every option string, for suggestions (set before argparse adds -h)
        self.commands: dict[str, _Parser] = {}
        kwargs.setdefault("allow_abbrev", False)  # '--hour' is a typo to name, not a silent '--hours'
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        self.options.extend(a for a in args if isinstance(a, str) and a.startswith("-"))
        return super().add_argument(*args, **kwargs)

    def error(self, message: str):
        raise UsageError(_usage_message(self, message))


def _command(parser: argparse.ArgumentParser) -> str:
    """'simulate' for the parser of `plasticity simulate`, '' for the top-level parser."""
    return parser.prog.partition(" ")[2]


def _usage_message(parser: argparse.ArgumentParser, message: str) -> str:
    """One readable line for an argparse complaint, naming the argument, the value and what was expected."""
    from ._errors import UnknownNameError

    cmd = _command(parser)
    where = f"{cmd}: " if cmd else ""
    see = f"see 'plasticity {cmd} --help'" if cmd else "see 'plasticity --help'"
    m = re.match(r"argument (\S+): invalid choice: '(.*)' \(choose from (.*)\)$", message)
    if m:
        choices = re.findall(r"'([^']*)'", m[3]) or [c.strip() for c in m[3].split(",")]
        if m[1] == "COMMAND":
            return str(UnknownNameError("command", m[2], choices))
        return where + str(UnknownNameError(f"value for {m[1].split('/')[-1]}", m[2], choices))
    m = re.match(r"argument (\S+): invalid (int|float) value: '(.*)'$", message)
    if m:
        want = "a whole number" if m[2] == "int" else "a number"
        return f"{where}{m[1].split('/')[-1]}: expected {want}, got '{m[3]}'"
    m = re.match(r"argument (\S+): expected (one|at least one) argument", message)
    if m:
        return f"{where}{m[1].split('/')[-1]}: expected a value after it; {see}"
    m = re.match(r"the following arguments are required: (.*)$", message)
    if m:
        return f"{where}missing required option(s) {m[1]}; {see}"
    return f"{where}{message}; {see}"


def _unrecognized(parser: _Parser, command: str | None, extra: list[str]) -> str:
    """The first argument nobody took, with the closest option of that command."""
    from ._errors import suggest

    sub = parser.commands.get(command or "", parser)
    where = f"{command}: " if command else ""
    see = f"see 'plasticity {command} --help'" if command else "see 'plasticity --help'"
    token = extra[0]
    if token.startswith("-"):
        name = token.split("=", 1)[0]
        close = suggest(name, sub.options)
        hint = f" Did you mean '{close}'?" if close else ""
        return f"{where}unknown option '{name}'.{hint} {see[0].upper() + see[1:]}"
    if command is None:
        return f"no command given before '{token}'; expected one of: {', '.join(parser.commands)}"
    return f"{where}unexpected argument '{token}' (options take the form --name value); {see}"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="plasticity",
        description="Simulate how psychoplastogens drive the glutamate -> AMPA -> BDNF -> TrkB -> mTORC1 loop and dendritic spines.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sim = sub.add_parser("simulate", help="run one regimen and print a summary", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sim.add_argument("--dose", action="append", metavar="DOSE", help="a dose string; repeat for several (none = vehicle)")
    sim.add_argument("--regimen", metavar="FILE.toml", help="a regimen file: doses = [\"ketamine 10 mg/kg ip\", ...]")
    sim.add_argument("--species", default="mouse", help="mouse | rat | human | culture (default mouse)")
    sim.add_argument("--hours", type=float, default=None,
                     help="simulate until this time after t = 0 (default 72, or 72 h past the last dose of a longer regimen)")
    sim.add_argument("--at", metavar="T1,T2,...", help="print the summary at these times in h, e.g. 24,168,672 (default 24,48,72 and the last time)")
    sim.add_argument("--vs", action="append", metavar="REGIMEN",
                     help="another regimen to run and overlay, doses separated by ';' (or 'vehicle'); repeat for several")
    sim.add_argument("--genotype", default="wild_type", help="wild_type | val/met | met/met | trkb_knockdown")
    sim.add_argument("--condition", default="none", help=CONDITION_HELP)
    sim.add_argument("--cut", action="append", metavar="EDGE", help="cut a feedback edge: mtorc1_to_bdnf, synaptic_protein_to_ampa")
    sim.add_argument("--scale", action="append", metavar="NODE=F", help="scale a node, e.g. trkb=0.5 (0 = knock-out)")
    sim.add_argument("--clamp", action="append", metavar="SPEC", help="clamp a node: 'mtorc1=0 from 2 h to 6 h'")
    sim.add_argument("--param", action="append", metavar="NAME=VALUE", help="override a parameter")
    sim.add_argument("--out", metavar="FILE", help="write the time course (.csv or .parquet)")
    sim.add_argument("--plot", metavar="FILE.png", help="write the time-course figure")
    sim.add_argument("--columns", metavar="A,B,...", help="plot just these columns, one panel each (e.g. mtorc1,spine_density; with --vs "
                     "also spine_gain); default: every stage of the loop")
    sim.set_defaults(func=_simulate)
    comp = sub.add_parser("compounds", help="list compounds, or show one in full")
    comp.add_argument("name", nargs="?", help="a compound to show (targets, PK, sources)")
    comp.set_defaults(func=_compounds)
    exp = sub.add_parser("export", help="write the model for a regimen as SBML (drug-free steady state, doses as events)")
    exp.add_argument("--format", default="sbml", help="export format (sbml)")
    exp.add_argument("-o", "--out", required=True, metavar="FILE.xml", help="where to write the model")
    _add_model_options(exp)
    exp.set_defaults(func=_export)
    show = sub.add_parser("show-model", help="print a readable, Antimony-like view of the model for a regimen")
    _add_model_options(show)
    show.set_defaults(func=_show_model)
    par = sub.add_parser("parameters", help="list every parameter of the model: value, unit, range, kind, source, file")
    par.add_argument("--compound", action="append", metavar="NAME", help="a compound whose parameters to include (its PK for every route, "
                     "metabolites, potencies); repeat or comma-separate for several (none = the drug-free pathway)")
    par.add_argument("--species", default="mouse", help="mouse | rat | human | culture (default mouse)")
    par.add_argument("--condition", default="none", help=CONDITION_HELP)
    par.add_argument("--genotype", default="wild_type", help="wild_type | val/met | met/met | trkb_knockdown")
    par.add_argument("--csv", metavar="FILE.csv", help="write the whole table (untruncated sources) to a CSV file instead of printing it")
    par.set_defaults(func=_parameters_cmd)
    swp = sub.add_parser("sweep", help="run a regimen over many parameter sets (grid, lhs, sobol, population); resumable")
    _add_model_options(swp)
    swp.add_argument("--vary", action="append", metavar="NAME=LOW:HIGH", help="a parameter, dose:<i> or time:<i>; LOW:HIGH or v1,v2,...")
    swp.add_argument("--design", default="grid", help="grid | lhs | sobol | population (default grid)")
    swp.add_argument("--n", type=int, help="members (lhs, sobol, population) or points per grid range")
    swp.add_argument("--seed", type=int, default=0, help="sampler seed (default 0)")
    swp.add_argument("--population", action="append", metavar="NAME=CV", help="log-normal variability of a parameter (design population)")
    swp.add_argument("--hours", type=float, default=72.0, help="simulate until this time after t = 0 (default 72)")
    swp.add_argument("--out", metavar="DIR.parquet", help="a folder of Parquet chunks; rerunning the same command resumes")
    swp.add_argument("--chunk-size", type=int, default=250, help="members per chunk (default 250)")
    swp.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    swp.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address, e.g. tcp://host:8786")
    swp.set_defaults(func=_sweep_cmd)
    val = sub.add_parser("validate", help="run the validation targets (models/validation.toml) and report pass/miss")
    val.add_argument("--ids", nargs="+", metavar="ID", help="only these targets (an id such as 15a, or an item number such as 15)")
    val.add_argument("--report", metavar="DIR", help="write DIR/validation.md and DIR/validation.png")
    val.add_argument("--strict", action="store_true", help="exit 1 when an (R) target misses")
    val.set_defaults(func=_validate)
    dr = sub.add_parser("dose-response", help="simulate a dose range; fit Emax/EC50/Hill or report an inverted U")
    dr.add_argument("--compound", default="ketamine", help="compound, dosed as '<compound> <dose> mg/kg ip' (default ketamine)")
    dr.add_argument("--template", help="a dose template instead, e.g. 'psilocybin {dose} mg/kg ip'")
    dr.add_argument("--doses", required=True, help="comma-separated doses, e.g. 1,3,10,30,80")
    dr.add_argument("--species", default="mouse", help="mouse | rat | human (default mouse)")
    dr.add_argument("--readout", default="spine_gain_24h_pct", help="spine_gain_<N>h_pct, <column>_<N>h or <column>_<peak|auc|time_to_peak|...> (default spine_gain_24h_pct)")
    dr.add_argument("--param", action="append", metavar="NAME=VALUE", help="override a parameter")
    dr.add_argument("--plot", metavar="FILE.png", help="write the dose-response figure")
    dr.set_defaults(func=_dose_response_cmd)
    sens = sub.add_parser("sensitivity", help="local, Sobol or Morris sensitivity of a readout over time")
    sens.add_argument("--dose", action="append", metavar="DOSE", help="a dose string; repeat for several")
    sens.add_argument("--species", default="mouse", help="mouse | rat | human (default mouse)")
    sens.add_argument("--method", default="local", choices=["local", "sobol", "morris"], help="default local")
    sens.add_argument("--readout", default="spine_gain", help="a timecourse column or spine_gain (default)")
    sens.add_argument("--params", help="comma-separated parameters (default: all pathway parameters with ranges)")
    sens.add_argument("--times", default="6,12,24,48,72", help="comma-separated output times in h (default 6,12,24,48,72)")
    sens.add_argument("--n", type=int, default=64, help="Sobol base sample / Morris trajectories (default 64)")
    sens.add_argument("--top", type=int, default=10, help="rows to print (default 10)")
    sens.add_argument("--param", action="append", metavar="NAME=VALUE", help="override a parameter")
    sens.add_argument("--out", metavar="FILE.csv", help="write all indices")
    sens.add_argument("--plot", metavar="FILE.png", help="write the tornado and over-time figure")
    sens.set_defaults(func=_sensitivity_cmd)
    fitp = sub.add_parser("fit", help="fit parameters to a CSV (time_h, readout, value[, sd]) with confidence intervals")
    fitp.add_argument("--data", required=True, metavar="FILE.csv", help="columns time_h, readout, value and optionally sd")
    fitp.add_argument("--param", dest="fit_param", action="append", required=True, metavar="NAME", help="a parameter to fit; repeat for several")
    fitp.add_argument("--dose", action="append", metavar="DOSE", help="the regimen the data come from; repeat for several")
    fitp.add_argument("--species", default="mouse", help="mouse | rat | human | culture (default mouse)")
    fitp.add_argument("--plot", metavar="FILE.png", help="write the data-and-fit figure")
    fitp.set_defaults(func=_fit_cmd)
    from .classroom._cli import add_commands  # `app` and `lesson`; Bokeh loads only when one of them runs

    add_commands(sub)
    parser.commands = dict(sub.choices)
    return parser


def _check_figure_path(path: str) -> None:
    """--plot: refuse a missing folder or an image type matplotlib cannot write before any work is done."""
    from pathlib import Path

    from matplotlib.backend_bases import FigureCanvasBase

    p = Path(path)
    if not p.parent.is_dir():
        raise PlasticityError(f"--plot: folder '{p.parent}' does not exist; create it or choose another path")
    kinds = sorted(FigureCanvasBase.get_supported_filetypes())
    if p.suffix and p.suffix.lstrip(".").lower() not in kinds:  # no suffix: matplotlib writes PNG
        raise PlasticityError(f"--plot: unsupported image type '{p.suffix or p.name}'; expected one of: {', '.join('.' + k for k in kinds)}")


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings on the command line read like its errors: one line, no source location."""
    return f"warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    import warnings

    previous, warnings.formatwarning = warnings.formatwarning, _one_line_warning
    try:
        return _main(argv)
    finally:
        warnings.formatwarning = previous


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            raise UsageError(_unrecognized(parser, getattr(args, "command", None), extra))
        if not getattr(args, "func", None):
            raise UsageError(f"no command given; expected one of: {', '.join(parser.commands)} (see 'plasticity --help')")
        from ._io import check_output_path

        if getattr(args, "plot", None):
            _check_figure_path(args.plot)
            check_output_path(args.plot, "--plot")
        out = getattr(args, "out", None)
        if out and not os.path.isdir(os.path.dirname(os.path.abspath(out))):  # before the work, not after it
            raise PlasticityError(f"--out: output folder '{os.path.dirname(out) or '.'}' does not exist; create it or choose another path")
        if out and args.command != "sweep":  # a sweep writes a folder; files: no device node, FIFO or symlink
            check_output_path(out, "--out")
        return args.func(args)
    except PlasticityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that stopped early (| head): not an error worth a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as exc:  # the file system said no (a full disk, a read-only or missing folder): one line, no traceback
        where = f" '{exc.filename}':" if exc.filename else ""
        print(f"error: output:{where} {exc.strerror or exc}; check the path, free disk space and permissions", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
