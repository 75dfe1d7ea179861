"""The shopping list and named to-do lists of the home.

The shopping list is ``Home.shopping_list`` (checked-off items move to
``Home.completed``); a to-do list is an entity of domain ``todo`` whose
``attributes["items"]`` holds its items.
"""

from __future__ import annotations

from common.actions.targets import spoken
from common.home import Home


def _key(item: str) -> str:
    return " ".join(item.casefold().split())


def shopping_add(home: Home, slots: dict) -> str:
    """HassShoppingListAddItem: ``item`` added (once)."""
    item = slots.get("item", "").strip()
    if not item:
        return "What should I add to the shopping list?"
    if _key(item) in map(_key, home.shopping_list):
        return f"{item.capitalize()} is already on your shopping list."
    home.shopping_list.append(item)
    return f"Added {item} to your shopping list."


def shopping_complete(home: Home, slots: dict) -> str:
    """HassShoppingListCompleteItem: ``item`` checked off, when it is on the list."""
    item = slots.get("item", "").strip()
    match = next((i for i in home.shopping_list if _key(i) == _key(item)), None)
    if match is None:
        return f"{item.capitalize()} isn't on your shopping list."
    home.shopping_list.remove(match)
    home.completed.append(match)
    return f"Checked {match} off your shopping list."


def todo(home: Home, slots: dict, add: bool) -> str:
    """HassListAddItem (``add``) / HassListCompleteItem / HassListRemoveItem on the to-do list ``name``."""
    lists = home.find(name=slots.get("name", ""), domain="todo") if slots.get("name") else home.find(domain="todo")
    if len(lists) != 1:
        return "Which list? " + ", ".join(spoken(t.name) for t in home.find(domain="todo")) if not slots.get("name") \
            else f"I couldn't find a list called {slots['name']}."
    items: list = lists[0].attributes.setdefault("items", [])
    item, name = slots.get("item", "").strip(), spoken(lists[0].name)
    if add:
        items.append(item)
        return f"Added {item} to the {name} list."
    match = next((i for i in items if _key(i) == _key(item)), None)
    if match is None:
        return f"{item.capitalize()} isn't on the {name} list."
    items.remove(match)
    return f"Checked {match} off the {name} list."
