"""A fake Postman API on 127.0.0.1 that answers from the official contract's samples.

Payloads start from ``shared/contracts/postman/samples``; the fake multiplies the collection
sample so listing has pages to walk: ``/collections`` pages by ``offset``/``limit`` with
``meta.total``, ``/workspaces`` by ``cursor`` with ``meta.nextCursor``, as Postman does.
It checks ``X-API-Key`` and answers Postman's 404 body for unknown ids.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from fake_http import Fake, Reply, Request, sample

API_KEY = "PMAK-fake-0123456789"


@dataclass
class FakePostman(Fake):
    """``collection_count`` collections in one workspace, built from the samples."""

    collection_count: int = 250
    workspace_page: int = 2
    collections: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        template = sample("postman", "get-collections.response.json")["collections"][0]
        for n in range(self.collection_count):
            c = copy.deepcopy(template)
            c["id"] = f"{n:08d}-c108-4223-af5e-e97137865143"
            c["uid"] = f"892436-{c['id']}"
            c["name"] = f"Checkout API {n}"
            self.collections.append(c)

    def unauthorized(self) -> Reply:
        return Reply(
            401,
            {"error": {"name": "AuthenticationError", "message": "Invalid API Key."}},
        )

    def _not_found(self, what: str) -> Reply:
        return Reply(
            404,
            {
                "error": {
                    "name": "instanceNotFoundError",
                    "message": f"We could not find the {what} you are looking for",
                }
            },
        )

    def route(self, r: Request) -> Reply:
        parts = [p for p in r.path.split("/") if p]
        if r.method != "GET":
            return Reply(405, {"error": {"name": "methodNotAllowed", "message": r.method}})
        if parts == ["me"]:
            return Reply(body=sample("postman", "get-me.response.json"))
        if parts == ["workspaces"]:
            return self._workspaces(r)
        if len(parts) == 2 and parts[0] == "workspaces":
            ws = sample("postman", "get-workspaces-workspaceId.response.json")
            if parts[1] != ws["workspace"]["id"]:
                return self._not_found("workspace")
            return Reply(body=ws)
        if parts == ["collections"]:
            return self._collections(r)
        if len(parts) == 2 and parts[0] == "collections":
            return self._collection(parts[1])
        if parts == ["environments"]:
            return Reply(body=sample("postman", "get-environments.response.json"))
        if len(parts) == 2 and parts[0] == "environments":
            env = sample("postman", "get-environments-environmentId.response.json")
            wanted = parts[1]
            if wanted not in (env["environment"]["id"], "12345678-" + env["environment"]["id"]):
                return self._not_found("environment")
            return Reply(body=env)
        return self._not_found("resource")

    def _workspaces(self, r: Request) -> Reply:
        all_ws = sample("postman", "get-workspaces.response.json")["workspaces"]
        start = int(r.arg("cursor") or 0)
        page = all_ws[start : start + self.workspace_page]
        nxt = start + self.workspace_page
        meta = {"nextCursor": str(nxt)} if nxt < len(all_ws) else {"nextCursor": None}
        return Reply(body={"workspaces": page, "meta": meta})

    def _collections(self, r: Request) -> Reply:
        # Postman caps a page whatever `limit` asks for; the client must follow meta.total.
        limit = min(int(r.arg("limit") or 100), 100)
        offset = int(r.arg("offset") or 0)
        items = self.collections
        name = r.arg("name")
        if name is not None:
            items = [c for c in items if c["name"] == name]
        page = items[offset : offset + limit]
        return Reply(
            body={
                "collections": page,
                "meta": {"total": len(items), "offset": offset, "limit": limit},
            }
        )

    def _collection(self, wanted: str) -> Reply:
        for c in self.collections:
            if wanted in (c["id"], c["uid"]):
                body = sample("postman", "get-collections-collectionId.response.json")
                body["collection"]["info"]["name"] = c["name"]
                body["collection"]["info"]["_postman_id"] = c["id"]
                body["collection"]["info"]["uid"] = c["uid"]
                return Reply(body=body)
        return self._not_found("collection")
