"""Reading stories from the corpus folder and cutting their paragraphs into sentence spans."""
