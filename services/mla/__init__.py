"""MLA coordination: formal mutual legal assistance must follow preservation before it lapses."""
