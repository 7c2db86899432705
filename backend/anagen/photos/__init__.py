"""Progress photos: what to take (guides.py, from the protocol's checkpoints and views), the upload
pipeline (pipeline.py, pure), where files live (storage.py), receiving, withdrawing and serving
photos (uploads.py), the clinic's review (review.py) and outcome measures (outcomes.py), the
registration of follow-ups onto the baseline (registration.py, pure; alignment.py, the job), and the
blueprints (views.py, views_alignment.py)."""
