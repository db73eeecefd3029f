"""nbgrader configuration of the course (nbgrader 0.9.6).

solutions/<assignment>/<notebook>.ipynb is the instructor's source (solutions
and hidden tests); `nbgrader generate_assignment` writes the student version to
notebooks/<assignment>/<notebook>.ipynb.
"""
import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

# Kernels started by nbgrader (validate, autograde, formgrader) inherit this:
# grading always runs the small, fast profile unless told otherwise.
os.environ.setdefault("COURSE_PROFILE", "grading")

c.CourseDirectory.course_id = "dl-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# The default of 30 s per cell is too short for a training cell.
c.Execute.timeout = 300
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
