//! End-to-end tests of the whole pipeline in one process (issue #7). They arrive with the
//! services they exercise; until then this package only holds its place in the workspace.
