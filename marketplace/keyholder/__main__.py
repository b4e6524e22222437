"""``python -m marketplace.keyholder`` (what ``python -m app keyholder`` runs): one key holder."""

from marketplace.keyholder.cli import main

if __name__ == "__main__":
    main()
