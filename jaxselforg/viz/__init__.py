"""Pictures for people (matplotlib, no display needed): image mosaics, training
curves, self-organizing map panels, latent-space scatter plots, confusion matrices,
figure saving."""

from jaxselforg.viz.confusion import confusion_figure
from jaxselforg.viz.curves import plot_curves
from jaxselforg.viz.figures import save_figure
from jaxselforg.viz.images import filter_tiles, image_grid, mosaic_figure
from jaxselforg.viz.latent import latent_scatter
from jaxselforg.viz.maps import som_maps_figure

__all__ = ["confusion_figure", "filter_tiles", "image_grid", "latent_scatter", "mosaic_figure",
           "plot_curves", "save_figure", "som_maps_figure"]
