"""The process owner's commands: `validate`, `test-models`, `deploy`, `export` model folders."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from engine.db import UnitOfWork
from engine.errors import ServiceError
from engine.workflow.deploy import read_bundle, validate_bundle
from engine.workflow.model_xml import ModelInvalid
from forms.errors import FieldError
from web import messages
from web.cli.shell import EXIT_INVALID, Context, actor_named, emit, fail, pass_ctx


@click.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def validate_cmd(ctx: Context, paths: tuple[Path, ...], as_json: bool) -> None:
    """Validate model folders or files (a file is checked with the folder it sits in)."""
    failed = False
    report = []
    for path in paths:
        folder = path if path.is_dir() else path.parent
        try:
            bundle = validate_bundle(read_bundle(folder), main=ctx.settings.process_id)
            report.append({"path": str(path), "ok": True, "process": bundle.process_id,
                           "hash": bundle.content_hash})
            if not as_json:
                click.echo(f"{path}: ok ({bundle.process_id}, {bundle.content_hash[:12]})")
        except ModelInvalid as err:
            failed = True
            report.append({"path": str(path), "ok": False, "problems": [
                messages.problem_texts(p.as_dict(), messages.in_locale("en")) for p in err.problems]})
            if not as_json:
                print_problems(folder, err, False)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    sys.exit(EXIT_INVALID if failed else 0)


@click.command("deploy")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--user", "username", required=True, help="The process owner or administrator deploying.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def deploy_cmd(ctx: Context, folder: Path, username: str, as_json: bool) -> None:
    """Deploy a model folder as the current version, after its validation and its own test cases.

    Start-up never undoes this: it redeploys workflows/ only when that folder changes.
    """
    from engine.modelling.deployment import ModelTestsFailed, deploy_models

    try:
        actor = actor_named(ctx, username)
        with UnitOfWork(ctx.db) as uow:
            version, report = deploy_models(uow, actor, read_bundle(folder), source="cli",
                                            main=ctx.settings.process_id)
    except ModelTestsFailed as err:
        failed = [r for r in err.results if not r.passed]
        if as_json:
            click.echo(json.dumps({"error": "ModelTestsFailed", "failed": [
                {"file": r.file, "case": r.name, "failures": _worded(r.failures),
                 "failure_codes": [f.as_dict() for f in r.failures]} for r in failed]},
                ensure_ascii=False, indent=2), err=True)
        for result in failed if not as_json else ():
            click.echo(f"error: {folder / result.file}: {result.name}: {'; '.join(_worded(result.failures))}",
                       err=True)
        sys.exit(EXIT_INVALID)
    except ModelInvalid as err:
        print_problems(folder, err, as_json)
        sys.exit(EXIT_INVALID)
    except ServiceError as err:
        fail(err, as_json)
    emit(as_json, {"version": version.id, "process": version.process_id, "hash": version.content_hash,
                    "tests": len(report.results)},
          f"deployed {folder} as version {version.id} of {version.process_id} "
          f"({version.content_hash[:12]}, {len(report.results)} test case(s) passed)")


def _worded(failures: list[FieldError]) -> list[str]:
    """A test case's failures worded in English (the CLI's language)."""
    english = messages.in_locale("en")
    return [messages.render(f.code, f.params, english) for f in failures]


def print_problems(folder: Path, err: ModelInvalid, as_json: bool) -> None:
    """Each problem with its place, worded in English (the CLI's language) with the library's own words in
    brackets (as `shell.failure_words` gives an incident's), or as JSON with its code."""
    english = messages.in_locale("en")
    worded = [messages.problem_texts(p.as_dict(), english) for p in err.problems]
    if as_json:
        click.echo(json.dumps({"error": "ModelInvalid", "problems": worded}, ensure_ascii=False, indent=2),
                   err=True)
        return
    for problem in worded:
        click.echo(f"{folder / problem['file'] if problem['file'] != '(bundle)' else folder}:"
                   f"{problem['line'] or ''}: [{problem['element_id'] or '-'}] {problem['message']}"
                   + (f" ({problem['detail']})" if problem["detail"] else "")
                   + (f" (hint: {problem['hint']})" if problem["hint"] else ""), err=True)


@click.command("test-models")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def test_models(ctx: Context, paths: tuple[Path, ...], as_json: bool) -> None:
    """Run the model test cases (tests/*.json) of model folders (default: workflows/)."""
    from engine.modelling.deployment import check_bundle

    failed = False
    report = []
    for folder in paths or (ctx.settings.workflows_dir,):
        try:
            checked = check_bundle(read_bundle(folder), main=ctx.settings.process_id)
        except ModelInvalid as err:
            fail(err, as_json)
        for result in checked.results:
            failed |= not result.passed
            report.append({"folder": str(folder), "file": result.file, "case": result.name,
                           "passed": result.passed, "failures": _worded(result.failures),
                           "failure_codes": [f.as_dict() for f in result.failures], "path": result.path})
            if not as_json:
                click.echo(f"{'PASS' if result.passed else 'FAIL'}  {folder / result.file}: {result.name}")
                for failure in _worded(result.failures):
                    click.echo(f"      {failure}")
        if not checked.results and not as_json:
            click.echo(f"{folder}: no test cases (add tests/*.json)")
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    sys.exit(EXIT_INVALID if failed else 0)


@click.command("export")
@click.argument("version_id", type=int)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@pass_ctx
def export_cmd(ctx: Context, version_id: int, folder: Path) -> None:
    """Write a deployed version's files into FOLDER (to keep models in git)."""
    from engine.modelling.deployment import export_version

    try:
        with UnitOfWork(ctx.db, write=False) as uow:
            files = export_version(uow, version_id)
    except ServiceError as err:
        fail(err, False)
    for path, content in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    click.echo(f"wrote {len(files)} file(s) to {folder}")
