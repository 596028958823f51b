"""Use cases of process owners: check a model bundle (validation + its own tests), deploy it,
list the deployed versions, export one back to files."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from engine import audit
from engine.db import UnitOfWork, use_case
from engine.errors import Code, Forbidden, ModelCode, NotFound
from engine.modelling import department_routes
from engine.modelling.cases import CaseResult, read_cases, run_cases
from engine.models import Complaint, ProcessVersion
from engine.people.roles import ADMIN, PROCESS_OWNER, Actor
from engine.workflow.deploy import TESTS_FOLDER, ValidatedBundle, current_version, deploy_bundle, validate_bundle
from engine.workflow.model_xml import ModelInvalid, ModelProblem
from engine.workflow.versions import from_bundle

MODELLER_ROLES = (PROCESS_OWNER, ADMIN)


class ModelTestsFailed(Exception):
    """The bundle is valid but some of its own test cases fail; nothing was deployed."""

    def __init__(self, results: list[CaseResult]):
        failed = [r for r in results if not r.passed]
        super().__init__("; ".join(f"{r.file} / {r.name}: {r.failures[0]}" for r in failed))
        self.results = results


@dataclass(frozen=True)
class CheckReport:
    bundle: ValidatedBundle
    results: list[CaseResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def check_bundle(files: dict[str, str], process_id: str | None = None, main: str | None = None) -> CheckReport:
    """Validate a bundle and run its test cases. Raises ModelInvalid when it cannot even be parsed.

    `process_id`: the process the bundle must run (a draft's, or the one an upload is laid over); without
    it the bundle's main process is found by `deploy.main_process`, preferring `main` (`Settings.process_id`)."""
    bundle = validate_bundle(files, process_id, main)
    return CheckReport(bundle=bundle, results=run_cases(from_bundle(bundle), read_cases(files)))


@use_case
def deploy_models(uow: UnitOfWork, actor: Actor, files: dict[str, str], source: str = "cli",
                  process_id: str | None = None, main: str | None = None) -> tuple[ProcessVersion, CheckReport]:
    """Deploy a bundle as the version new complaints start on, if it is valid and its tests pass.

    Every deliberate path (modeller, upload, API, `complaints deploy`) comes here, so all refuse alike: a
    new version of a process that runs already must bring its test cases. Running complaints stay on
    their own version. `source` is recorded with the version (`deploy.SOURCES`); `process_id` and `main`
    as for `check_bundle`.
    """
    if actor.role not in MODELLER_ROLES:
        raise Forbidden(Code.DEPLOY_NOT_ALLOWED)
    report = check_bundle(files, process_id, main)
    if not any(path.startswith(TESTS_FOLDER) for path in files) and \
            current_version(uow.session, report.bundle.process_id) is not None:
        raise ModelInvalid([ModelProblem(TESTS_FOLDER, None, None, ModelCode.NO_TEST_CASES)])
    if routes := department_routes.problems(uow.session, files):  # the table the administrator keeps
        raise ModelInvalid(routes)
    if not report.passed:
        raise ModelTestsFailed(report.results)
    version, created = deploy_bundle(uow.session, report.bundle, actor.username, source=source)
    audit.record(uow.session, None, actor, "model_deployed",
                 data={"process": version.process_id, "version": version.id, "hash": version.content_hash,
                       "new": created, "tests": len(report.results), "source": source})
    return version, report


def may_manage(actor: Actor) -> bool:
    """May the actor work on process models (drafts, versions, deploying)? Process owners and administrators."""
    return actor.role in MODELLER_ROLES


def check_can_manage(actor: Actor) -> None:
    """Refuse everyone `may_manage` does not allow."""
    if not may_manage(actor):
        raise Forbidden(Code.MODELS_NOT_ALLOWED)


def list_versions(uow: UnitOfWork, actor: Actor, process_id: str | None = None) -> list[dict]:
    """Every deployed version, newest first, with how many complaints run on it (process owners and
    administrators)."""
    check_can_manage(actor)
    counts = dict(uow.session.execute(
        select(Complaint.version_id, func.count()).where(Complaint.status == "open").group_by(Complaint.version_id)
    ).all())
    query = select(ProcessVersion).order_by(ProcessVersion.id.desc())
    if process_id:
        query = query.where(ProcessVersion.process_id == process_id)
    return [{"id": v.id, "process_id": v.process_id, "hash": v.content_hash, "current": v.is_current,
             "deployed_at": v.deployed_at, "deployed_by": v.deployed_by, "source": v.source,
             "running": counts.get(v.id, 0)}
            for v in uow.session.scalars(query)]


def export_version(uow: UnitOfWork, version_id: int) -> dict[str, str]:
    """A deployed version's files, as they were deployed (so models can live in git)."""
    version = uow.session.get(ProcessVersion, version_id)
    if version is None:
        raise NotFound(Code.VERSION_NOT_FOUND, version=version_id)
    return {f.path: f.content for f in version.files}
