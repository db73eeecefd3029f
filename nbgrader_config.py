"""nbgrader configuration of the course (nbgrader 0.9.6).

solutions/<assignment>/<notebook>.ipynb is the instructor's source (solutions
and hidden tests); `nbgrader generate_assignment` writes the student version to
notebooks/<assignment>/<notebook>.ipynb.

This file must not change the environment of the process that loads it:
JupyterLab's nbgrader extension loads it into the Jupyter server, and every
student kernel inherits the server's environment.
"""
c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "dl-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# Every kernel nbgrader executes notebooks in (autograde, validate, JupyterLab's
# Validate button) runs the grading profile, whatever the caller's environment
# says: the kernel sets it itself at start-up, before the first cell.
c.Execute.extra_arguments = [
    "--InteractiveShellApp.exec_lines=import os; os.environ['COURSE_PROFILE'] = 'grading'",
]

# The default of 30 s per cell is too short for a training cell.
c.Execute.timeout = 300
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
