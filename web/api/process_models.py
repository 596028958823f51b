"""Process models: the deployed versions, checking an upload, deploying it (process owners, admins)."""
from __future__ import annotations

from dataclasses import replace

from flask import request

from engine.errors import Code, InvalidInput
from engine.modelling import deployment
from engine.modelling import uploads as process_models
from forms.errors import FormCode, error
from web import messages
from web.api import schemas
from web.api.core import actor, operation
from web.api.problems import request_gettext
from web.context import reading, state, writing

#: A zipped bundle may hold up to MAX_BUNDLE_BYTES unpacked; compressed it is smaller still.
MAX_UPLOAD = process_models.MAX_BUNDLE_BYTES + 1024 * 1024
UPLOAD = "multipart"


def _process(query: dict) -> str:
    """The process asked for, else the one new complaints start."""
    return query.get("process_id") or state().settings.process_id


def _upload() -> process_models.Upload:
    if request.mimetype != "multipart/form-data":
        raise InvalidInput.field("files", Code.FILES_AS_MULTIPART)
    unexpected = sorted(set(request.form) | (set(request.files) - {"files"}))
    if unexpected:
        raise InvalidInput({name: [error(FormCode.NOT_IN_FORM)] for name in unexpected})
    files = {}
    for storage in request.files.getlist("files"):
        name = storage.filename or ""
        if name in files:
            raise InvalidInput.field(name, Code.DUPLICATE_FILE)
        files[name] = storage.read()
    return process_models.read_upload(files)


@operation("/process-models", "GET", tag="process models", summary="The deployed versions, newest first",
           query=schemas.ProcessQuery, response=schemas.VersionDoc, many=True, errors=(403,))
def list_versions(query: dict):
    with reading() as uow:
        return deployment.list_versions(uow, actor(), _process(query))


@operation("/process-models/validate", "POST", tag="process models",
           summary="Check an uploaded bundle or file without deploying it",
           description="Upload a zip of the process folder, or single .bpmn/.dmn/.json files, which replace "
                       "those of the current version. The model is validated and its own test cases run.",
           query=schemas.ProcessQuery, body=UPLOAD, response=schemas.CheckDoc, errors=(403, 422),
           max_body=MAX_UPLOAD, permits=deployment.check_can_manage)
def validate_upload(query: dict):
    upload = _upload()
    with reading() as uow:
        result = process_models.check_upload(uow, actor(), upload, _process(query), state().settings.process_id)
    say = request_gettext()
    return replace(result, problems=[messages.problem_texts(p, say) for p in result.problems],
                   test_results=[{**case, "failure_codes": case["failures"],
                                  "failures": [messages.render(f["code"], f["params"], say) for f in case["failures"]]}
                                 for case in result.test_results])


@operation("/process-models/deploy", "POST", tag="process models",
           summary="Deploy an uploaded bundle or file as the current version",
           description="As validate; refused with 422 and every problem when the model is invalid or its "
                       "test cases fail. Running complaints stay on their version.",
           query=schemas.ProcessQuery, body=UPLOAD, response=schemas.DeployedDoc, status=201,
           errors=(403, 422), max_body=MAX_UPLOAD, permits=deployment.check_can_manage)
def deploy_upload(query: dict):
    upload = _upload()
    with writing() as uow:
        return process_models.deploy_upload(uow, actor(), upload, _process(query), state().settings.process_id)
