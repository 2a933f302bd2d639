DROP TABLE build_packs;
DROP TABLE sessions;
DROP TABLE workshop_steps;
DROP TABLE workshop_members;
DROP TABLE workshops;
DROP TABLE step_definitions;
