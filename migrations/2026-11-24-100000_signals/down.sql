DROP TABLE signal_personas;
DROP TABLE signal_projects;
DROP TABLE signals;
DROP TABLE projects;
DROP TABLE workspace_members;
DROP TABLE workspaces;
