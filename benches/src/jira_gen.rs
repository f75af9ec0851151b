//! Realistic Jira Cloud issues in the `*all` shape, for the search benchmarks.
//!
//! Each issue carries what Jira Cloud sends for `fields=*all`: the navigable system fields with
//! their nested user, status and project objects and avatar URLs, an ADF description, the
//! embedded comment and worklog pages, attachments, links and forty-odd custom fields (most of
//! them null, as on a real site). That comes to about 11 KB of JSON per issue, the size the
//! issue tracker's benchmark asks for. Output is deterministic for a given index.

use serde_json::{Map, Value, json};

const SITE: &str = "https://bench.atlassian.net";

const STATUSES: [(&str, &str, u32); 5] = [
    ("To Do", "new", 2),
    ("In Progress", "indeterminate", 4),
    ("In QA", "indeterminate", 4),
    ("Blocked", "indeterminate", 4),
    ("Done", "done", 3),
];

const PRIORITIES: [&str; 4] = ["Highest", "High", "Medium", "Low"];
const COMPONENTS: [&str; 4] = ["API", "Web", "Mobile", "Payments"];

const WORDS: [&str; 24] = [
    "checkout", "refund", "login", "token", "refresh", "cart", "payment", "timeout", "retry",
    "invoice", "search", "profile", "session", "export", "import", "report", "webhook", "email",
    "discount", "shipping", "address", "currency", "audit", "latency",
];

fn words(seed: usize, n: usize) -> String {
    (0..n)
        .map(|i| WORDS[(seed.wrapping_mul(31) + i * 7 + i * i) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

fn avatars(kind: &str, id: usize) -> Value {
    let base = format!(
        "https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/{kind}/{id:08x}"
    );
    json!({
        "48x48": format!("{base}/48"),
        "24x24": format!("{base}/24"),
        "16x16": format!("{base}/16"),
        "32x32": format!("{base}/32"),
    })
}

fn user(n: usize) -> Value {
    let id = format!("5b10ac8d82e05b22cc7d4e{n:02x}");
    json!({
        "self": format!("{SITE}/rest/api/3/user?accountId={id}"),
        "accountId": id,
        "emailAddress": format!("qa{n}@bench.example"),
        "avatarUrls": avatars("user", n),
        "displayName": format!("QA Person {n}"),
        "active": true,
        "timeZone": "Europe/Berlin",
        "accountType": "atlassian",
    })
}

fn adf(paragraphs: &[String]) -> Value {
    json!({
        "type": "doc",
        "version": 1,
        "content": paragraphs.iter().map(|p| json!({
            "type": "paragraph",
            "content": [{ "type": "text", "text": p }],
        })).collect::<Vec<_>>(),
    })
}

fn comment(issue: usize, n: usize) -> Value {
    let id = 10_000 + issue * 3 + n;
    json!({
        "self": format!("{SITE}/rest/api/3/issue/{}/comment/{id}", 10_000 + issue),
        "id": id.to_string(),
        "author": user((issue + n) % 40),
        "body": adf(&[format!("Checked {} on staging; {}.", words(issue + n, 6), words(n, 8))]),
        "updateAuthor": user((issue + n) % 40),
        "created": "2026-11-02T10:15:30.000+0100",
        "updated": "2026-11-02T10:15:30.000+0100",
        "jsdPublic": true,
    })
}

/// Issue number `n` (1-based) of project `project`, as Jira Cloud returns it for `*all`.
#[expect(
    clippy::too_many_lines,
    reason = "one field after another, in the order Jira sends them; splitting would scatter the shape"
)]
pub fn issue(project: &str, n: usize) -> Value {
    let id = 10_000 + n;
    let key = format!("{project}-{n}");
    let (status, category, category_id) = STATUSES[n % STATUSES.len()];
    let mut fields = Map::new();
    fields.insert(
        "summary".into(),
        json!(format!("{} fails when {}", words(n, 3), words(n + 1, 4))),
    );
    fields.insert(
        "status".into(),
        json!({
            "self": format!("{SITE}/rest/api/3/status/{}", n % 5 + 1),
            "description": "",
            "iconUrl": format!("{SITE}/images/icons/statuses/generic.png"),
            "name": status,
            "id": (n % 5 + 1).to_string(),
            "statusCategory": {
                "self": format!("{SITE}/rest/api/3/statuscategory/{category_id}"),
                "id": category_id,
                "key": category,
                "colorName": "blue-gray",
                "name": status,
            },
        }),
    );
    fields.insert(
        "issuetype".into(),
        json!({
            "self": format!("{SITE}/rest/api/3/issuetype/10001"),
            "id": if n.is_multiple_of(3) { "10004" } else { "10001" },
            "description": "A problem or error.",
            "iconUrl": format!("{SITE}/rest/api/2/universal_avatar/view/type/issuetype/avatar/10303?size=medium"),
            "name": if n.is_multiple_of(3) { "Bug" } else { "Story" },
            "subtask": false,
            "avatarId": 10303,
            "hierarchyLevel": 0,
        }),
    );
    fields.insert(
        "priority".into(),
        json!({
            "self": format!("{SITE}/rest/api/3/priority/3"),
            "iconUrl": format!("{SITE}/images/icons/priorities/medium.svg"),
            "name": PRIORITIES[n % 4],
            "id": (n % 4 + 1).to_string(),
        }),
    );
    fields.insert(
        "assignee".into(),
        if n.is_multiple_of(7) {
            Value::Null
        } else {
            user(n % 40)
        },
    );
    fields.insert("reporter".into(), user((n + 3) % 40));
    fields.insert("creator".into(), user((n + 3) % 40));
    fields.insert(
        "labels".into(),
        json!([WORDS[n % 24], WORDS[(n + 5) % 24], "regression"]),
    );
    fields.insert(
        "components".into(),
        json!([{ "self": format!("{SITE}/rest/api/3/component/1000{}", n % 4), "id": format!("1000{}", n % 4), "name": COMPONENTS[n % 4] }]),
    );
    fields.insert(
        "fixVersions".into(),
        json!([{ "self": format!("{SITE}/rest/api/3/version/1010{}", n % 3), "id": format!("1010{}", n % 3), "description": "", "name": format!("1.{}.0", 4 + n % 3), "archived": false, "released": false, "releaseDate": "2026-12-15" }]),
    );
    fields.insert("versions".into(), json!([]));
    fields.insert("created".into(), json!("2026-10-28T09:12:44.000+0100"));
    fields.insert(
        "updated".into(),
        json!(format!(
            "2026-11-{:02}T16:{:02}:05.000+0100",
            1 + n % 28,
            n % 60
        )),
    );
    fields.insert(
        "statuscategorychangedate".into(),
        json!("2026-11-03T11:00:00.000+0100"),
    );
    fields.insert("lastViewed".into(), Value::Null);
    fields.insert("resolution".into(), Value::Null);
    fields.insert("resolutiondate".into(), Value::Null);
    fields.insert("duedate".into(), Value::Null);
    fields.insert("environment".into(), Value::Null);
    fields.insert("workratio".into(), json!(-1));
    fields.insert(
        "description".into(),
        adf(&[
            format!(
                "As a customer I want {} so that {}.",
                words(n, 9),
                words(n + 2, 9)
            ),
            format!(
                "Acceptance: {}; {}; {}.",
                words(n + 3, 7),
                words(n + 4, 7),
                words(n + 5, 7)
            ),
            format!("Notes from refinement: {}.", words(n + 6, 16)),
        ]),
    );
    fields.insert(
        "comment".into(),
        json!({
            "comments": (0..3).map(|c| comment(n, c)).collect::<Vec<_>>(),
            "self": format!("{SITE}/rest/api/3/issue/{id}/comment"),
            "maxResults": 3, "total": 3, "startAt": 0,
        }),
    );
    fields.insert(
        "worklog".into(),
        json!({
            "startAt": 0, "maxResults": 20, "total": 1,
            "worklogs": [{
                "self": format!("{SITE}/rest/api/3/issue/{id}/worklog/{}", 20_000 + n),
                "author": user(n % 40), "updateAuthor": user(n % 40),
                "created": "2026-11-04T12:00:00.000+0100", "updated": "2026-11-04T12:00:00.000+0100",
                "started": "2026-11-04T10:00:00.000+0100", "timeSpent": "2h", "timeSpentSeconds": 7200,
                "id": (20_000 + n).to_string(), "issueId": id.to_string(),
            }],
        }),
    );
    fields.insert(
        "attachment".into(),
        json!([{
            "self": format!("{SITE}/rest/api/3/attachment/{}", 30_000 + n),
            "id": (30_000 + n).to_string(), "filename": format!("screenshot-{n}.png"),
            "author": user((n + 1) % 40), "created": "2026-11-03T09:00:00.000+0100",
            "size": 48_213, "mimeType": "image/png",
            "content": format!("{SITE}/rest/api/3/attachment/content/{}", 30_000 + n),
            "thumbnail": format!("{SITE}/rest/api/3/attachment/thumbnail/{}", 30_000 + n),
        }]),
    );
    fields.insert("issuelinks".into(), json!([]));
    fields.insert("subtasks".into(), json!([]));
    fields.insert("timetracking".into(), json!({ "originalEstimate": "1d", "remainingEstimate": "6h", "timeSpent": "2h", "originalEstimateSeconds": 28_800, "remainingEstimateSeconds": 21_600, "timeSpentSeconds": 7200 }));
    fields.insert(
        "progress".into(),
        json!({ "progress": 7200, "total": 28_800, "percent": 25 }),
    );
    fields.insert(
        "aggregateprogress".into(),
        json!({ "progress": 7200, "total": 28_800, "percent": 25 }),
    );
    fields.insert("votes".into(), json!({ "self": format!("{SITE}/rest/api/3/issue/{key}/votes"), "votes": 0, "hasVoted": false }));
    fields.insert("watches".into(), json!({ "self": format!("{SITE}/rest/api/3/issue/{key}/watchers"), "watchCount": 2, "isWatching": false }));
    fields.insert(
        "project".into(),
        json!({ "self": format!("{SITE}/rest/api/3/project/10000"), "id": "10000", "key": project, "name": "Payments", "projectTypeKey": "software", "simplified": false, "avatarUrls": avatars("project", 10_000) }),
    );
    for (k, v) in [
        ("timespent", json!(7200)),
        ("timeoriginalestimate", json!(28_800)),
        ("timeestimate", json!(21_600)),
        ("aggregatetimespent", json!(7200)),
        ("aggregatetimeoriginalestimate", json!(28_800)),
        ("aggregatetimeestimate", json!(21_600)),
        ("security", Value::Null),
    ] {
        fields.insert(k.into(), v);
    }
    // Custom fields: sprint, story points, rank, team, epic link and many unused ones.
    fields.insert(
        "customfield_10020".into(),
        json!([{ "id": 40 + n % 3, "name": format!("Sprint {}", 40 + n % 3), "state": "active", "boardId": 3, "goal": "Stabilise checkout", "startDate": "2026-11-01T08:00:00.000Z", "endDate": "2026-11-15T08:00:00.000Z" }]),
    );
    fields.insert("customfield_10016".into(), json!((n % 8) as f64 + 1.0));
    fields.insert("customfield_10019".into(), json!(format!("0|i00{n:04}:")));
    fields.insert("customfield_10001".into(), json!({ "id": "b2f1e7c4-team", "name": "Team Falcon", "title": "Team Falcon", "isVisible": true, "isVerified": true, "isShared": true }));
    fields.insert(
        "customfield_10014".into(),
        json!(format!("{project}-{}", 1 + n % 20)),
    );
    fields.insert("customfield_10000".into(), json!("{}"));
    for c in 10_021..10_060 {
        fields.insert(format!("customfield_{c}"), Value::Null);
    }
    json!({
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": id.to_string(),
        "self": format!("{SITE}/rest/api/3/issue/{id}"),
        "key": key,
        "fields": fields,
    })
}
