"""The `plasticity app` and `plasticity lesson` commands (argparse only: Bokeh loads when a command runs)."""

from __future__ import annotations

import argparse

APP_EXAMPLES = """\
examples:
  plasticity app                          # serve on http://127.0.0.1:5006/ and open the browser
  plasticity app --port 8080 --no-browser # for a lecture-hall machine: open the address yourself
  plasticity app --questions my_questions.toml
"""
LESSON_EXAMPLES = """\
examples:
  plasticity lesson --out lesson.html     # the default grid: mouse, every compound at 0.3, 1 and 3 x its typical dose, every pretreatment and cut
  plasticity lesson --out ketamine.html --compounds ketamine,psilocybin --doses 0.3,1,3 --species mouse
  plasticity lesson --out small.html --compounds ketamine --pretreatments none,rapamycin --cuts none,both
  plasticity lesson --out stress.html --compounds ketamine --conditions none,chronic_stress --condition-grid full
"""


def add_commands(sub) -> None:
    """Add `app` and `lesson` to the `plasticity` command's subparsers."""
    app = sub.add_parser("app", help="the classroom app: the feedback loop live in a browser (needs the app extra)",
                         epilog=APP_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    app.add_argument("--port", type=int, default=5006, help="port on 127.0.0.1 (default 5006)")
    app.add_argument("--no-browser", action="store_true", help="do not open a browser")
    app.add_argument("--questions", metavar="FILE.toml", help="predict-then-reveal questions (default: the shipped set)")
    app.add_argument("--catalogue", metavar="FILE.toml", help="compounds, doses and pretreatments offered (default: the shipped one)")
    app.set_defaults(func=_app)
    les = sub.add_parser("lesson", help="write one self-contained HTML lesson page (works offline; needs the app extra)",
                         epilog=LESSON_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    les.add_argument("--out", required=True, metavar="FILE.html", help="where to write the page")
    les.add_argument("--compounds", metavar="A,B,...", help="compound ids (default: every compound in the catalogue)")
    les.add_argument("--doses", default="0.3,1,3", metavar="X,Y,...", help="multiples of each compound's typical dose (default 0.3,1,3)")
    les.add_argument("--species", default="mouse", metavar="A,B", help="species, e.g. mouse,rat (default mouse)")
    les.add_argument("--pretreatments", default="all", metavar="A,B,...", help="none and pretreatment keys, or all (default all)")
    les.add_argument("--cuts", default="all", metavar="A,B,...",
                     help="none, mtorc1_to_bdnf, synaptic_protein_to_ampa, both, or all (default all: the four combinations)")
    les.add_argument("--genotypes", default="wild_type", metavar="A,B,...", help="genotypes, or all (default wild_type)")
    les.add_argument("--conditions", default="all", metavar="A,B,...",
                     help="none, chronic_stress, chronic_corticosterone, or all (default all)")
    les.add_argument("--condition-grid", default="typical", choices=["typical", "full"],
                     help="typical (default): a condition other than none only at each compound's typical dose, with each "
                          "pretreatment and the intact loop (keeps the page small); full: the whole grid in every condition")
    les.add_argument("--questions", metavar="FILE.toml", help="predict-then-reveal questions (default: the shipped set)")
    les.add_argument("--catalogue", metavar="FILE.toml", help="compounds, doses and pretreatments offered (default: the shipped one)")
    les.add_argument("--workers", type=int, default=2, help="processes computing the runs (default 2)")
    les.set_defaults(func=_lesson)


def _list(text: str | None) -> list[str] | None:
    return None if text is None else [x.strip() for x in text.split(",") if x.strip()]


def _app(args: argparse.Namespace) -> int:
    from ._server import serve

    serve(args.port, open_browser=not args.no_browser, catalogue=args.catalogue, questions=args.questions)
    return 0


def _lesson(args: argparse.Namespace) -> int:
    from .._errors import PlasticityError
    from ._lesson import write_lesson

    try:
        doses = [float(x) for x in _list(args.doses) or []]
    except ValueError:
        raise PlasticityError(f"--doses: expected numbers (multiples of the typical dose) such as 0.3,1,3, got {args.doses!r}") from None
    info = write_lesson(args.out, compounds=_list(args.compounds), doses=doses, species=_list(args.species),
                        pretreatments=_list(args.pretreatments), cuts=_list(args.cuts), genotypes=_list(args.genotypes),
                        conditions=_list(args.conditions), condition_grid=args.condition_grid, catalogue=args.catalogue, questions=args.questions, workers=args.workers, progress=True)
    print(f"wrote {args.out}: {info['runs']} runs ({info['failed']} not runnable), {info['questions']} questions, "
          f"{info['bytes'] / 1e6:.1f} MB; open it in any browser, no network needed")
    return 0
