"""Read-side queries of the learning app, one module per sub-domain (import from the module you use):

- ``enrollments``: what an enrollment allows now (study, exam), days left, its audit history, a
  trainee's own enrollments.
- ``pipeline``: the trainee's pipeline (the stages other apps fill in through
  ``PIPELINE_STEP_PROVIDERS`` / ``PIPELINE_PREFETCHERS``) and the counts per stage for the dashboard.
- ``accounts``: access-code links, and paid trainees still without a study account (the sweep,
  the dashboard's late list).
- ``study``: course plans and their hours, each enrollment's study overview (lessons, credited
  time), presence checks, the exam unlock, the "study" pipeline stage.
- ``records``: the training record (培训档案): study lines, staff entries and the lines other apps
  add through ``TRAINING_RECORD_SECTIONS`` (exam attempts).
"""
