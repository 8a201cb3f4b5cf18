// One lock node per dataset: the constraint makes concurrent MERGEs of it converge on one node.
CREATE CONSTRAINT lock_dataset IF NOT EXISTS FOR (l:Lock) REQUIRE l.dataset IS UNIQUE
