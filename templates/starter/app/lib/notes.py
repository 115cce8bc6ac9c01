"""An in-memory store: replace it with your database. It starts fresh when this file changes."""

NOTES = [{"id": "1", "text": "Edit app/pages/index.html and watch this page change."}]


def all_notes():
    return NOTES


def find_note(note_id):
    return next((n for n in NOTES if n["id"] == note_id), None)


def add_note(text):
    note = {"id": str(len(NOTES) + 1), "text": text}
    NOTES.append(note)
    return note
