"""A tiny in-memory store for the demo (module state starts fresh on reload)."""

USERS = {
    "1": {"id": "1", "name": "Ada Lovelace", "role": "admin", "bio": "Wrote the first program."},
    "2": {"id": "2", "name": "Grace Hopper", "role": "editor", "bio": "Made computers speak English."},
    "3": {"id": "3", "name": "Alan Turing", "role": "viewer", "bio": "Asked whether machines can think."},
}

POSTS = [
    {"id": n, "title": title, "author": author}
    for n, (title, author) in enumerate(
        [
            ("File routes in five minutes", "1"),
            ("Why the store is hydrated", "2"),
            ("Precedence, explained", "3"),
            ("Forms that redirect", "1"),
            ("Sessions without a database", "2"),
            ("Reload that never drops a request", "3"),
            ("Testing against real routes", "1"),
        ],
        start=1,
    )
]


def all_users():
    return list(USERS.values())


def find_user(user_id):
    return USERS.get(user_id)


def with_author(post):
    """A post with its author's current name, as the pages show it."""
    return {**post, "author_name": USERS[post["author"]]["name"]}


def posts_by(user_id):
    return [with_author(p) for p in POSTS if p["author"] == user_id]
