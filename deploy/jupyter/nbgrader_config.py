# The course's nbgrader settings for everyone on the hub (students and instructors): copy to
# /etc/jupyter/nbgrader_config.py (the image and deploy/tljh/install.sh do). An instructor's course
# folder (`make course COURSE_DIR=...`) has its own nbgrader_config.py on top of this one.
c = get_config()
c.CourseDirectory.course_id = "gradients"
c.Exchange.root = "/srv/nbgrader/exchange"
