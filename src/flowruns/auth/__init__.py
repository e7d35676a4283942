"""Bearer tokens: the keys that sign them, their verification, and the permissions they grant."""
