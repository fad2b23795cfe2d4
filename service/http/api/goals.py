"""/v1/goals: the Moonshot goals."""

from __future__ import annotations

from pydantic import BaseModel

from kernel.errors import NotFound
from kernel.reference import Goal
from service.http.api.versioned import v1_router
from service.http.deps import READ, RuntimeDep

router = v1_router("/goals", tags=["goals"], dependencies=[READ])


class GoalOut(BaseModel):
    id: int
    short_name: str
    title: str
    target_year: int
    managing_agency: str
    fields: list[str]
    description: str
    source: str


class GoalsOut(BaseModel):
    data: list[GoalOut]
    count: int


def goal_out(goal: Goal) -> GoalOut:
    return GoalOut(**goal.model_dump(include=set(GoalOut.model_fields)))


@router.get("", operation_id="goals.list")
def list_goals(rt: RuntimeDep) -> GoalsOut:
    goals = [goal_out(g) for g in rt.reference.goals]
    return GoalsOut(data=goals, count=len(goals))


@router.get("/{goal_id}", operation_id="goals.get")
def get_goal(goal_id: int, rt: RuntimeDep) -> GoalOut:
    goal = rt.reference.goal(goal_id)
    if goal is None:
        raise NotFound(f"no Moonshot goal {goal_id}; goals are 1-{len(rt.reference.goals)}")
    return goal_out(goal)
