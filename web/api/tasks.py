"""Tasks: the caller's lists, one task with its form, and claiming, releasing and completing it."""
from __future__ import annotations

from engine.complaints import tasks
from engine.models import User
from web.api import schemas
from web.api.core import actor, operation
from web.context import reading, writing


@operation("/tasks", "GET", tag="tasks", summary="The caller's task list",
           description="`mine`: assigned to the caller; `queue`: the caller's role's (and department's) pool, "
                       "the tasks nobody holds (待领取任务); `overdue`, `due_soon`: past or near their deadline; "
                       "`all`: every open task the caller sees.",
           query=schemas.TaskQuery, response=schemas.TaskPage)
def list_tasks(query: dict):
    with reading() as uow:
        page = tasks.task_list(uow, actor(), query["scope"], page=query["page"],
                                  per_page=query["per_page"], sort=query["sort"],
                                  descending=query["descending"])
    return {"items": page.items, "page": page.page, "per_page": page.per_page, "total": page.total,
            "pages": page.pages}


@operation("/tasks/<task_id>", "GET", tag="tasks", summary="A task with its form schema",
           response=schemas.TaskDetail, errors=(403, 404))
def get_task(task_id: str):
    with reading() as uow:
        row, meta, complaint = tasks.task_for_form(uow, actor(), task_id)
        assignee = uow.session.get(User, row.assignee_id) if row.assignee_id else None
    return {"id": row.id, "name": row.name, "title": row.title, "title_en": row.title_en, "role": row.role,
            "department": row.department, "status": row.status,
            "assignee": assignee.username if assignee else None, "created_at": row.created_at,
            "due_at": row.due_at, "escalated_to": row.escalated_to, "instructions": meta.instructions,
            "instructions_en": meta.instructions_en, "form": {"schema": meta.form.schema, "ui": meta.form.ui},
            "complaint": complaint}


@operation("/tasks/<task_id>/claim", "POST", tag="tasks", summary="Take a task from the queue", status=204,
           errors=(403, 404, 409))
def claim_task(task_id: str):
    with writing() as uow:
        tasks.claim_task(uow, actor(), task_id)


@operation("/tasks/<task_id>/release", "POST", tag="tasks", summary="Put a held task back into the queue",
           status=204, errors=(403, 404, 409))
def release_task(task_id: str):
    with writing() as uow:
        tasks.release_task(uow, actor(), task_id)


def _check_can_work(me, task_id: str) -> None:
    with reading() as uow:
        tasks.check_can_work(uow, me, task_id)


@operation("/tasks/<task_id>/complete", "POST", tag="tasks", summary="Complete a task with its form data",
           description="Give the complaint's `version` read with the task to be refused (409) instead of "
                       "overwriting a change made meanwhile.",
           body=schemas.CompleteBody, response=schemas.StepResult, errors=(403, 404, 409, 422),
           permits=lambda me, task_id: _check_can_work(me, task_id))
def complete_task(task_id: str, body: dict):
    with writing() as uow:
        return tasks.complete_task(uow, actor(), task_id, body["data"], body["version"])
