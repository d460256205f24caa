"""Visual arts: painting -> painter; other artworks (sculpture, prints,
installations) -> artist. Only works whose attribution is not disputed.
"""

_LEONARDO = "Leonardo da Vinci|da Vinci|Leonardo|Leonardo di ser Piero da Vinci"
_VAN_GOGH = "Vincent van Gogh|van Gogh|Vincent Willem van Gogh"
_PICASSO = "Pablo Picasso|Picasso"
_MONET = "Claude Monet|Monet"
_VERMEER = "Johannes Vermeer|Vermeer|Jan Vermeer"
_BOTTICELLI = "Sandro Botticelli|Botticelli"
_RAPHAEL = "Raphael|Raffaello Sanzio|Raffaello|Raphael Sanzio"
_MICHELANGELO = "Michelangelo|Michelangelo Buonarroti"
_GOYA = "Francisco Goya|Goya|Francisco de Goya"
_RENOIR = "Pierre-Auguste Renoir|Renoir|Auguste Renoir"
_SEURAT = "Georges Seurat|Seurat"
_MAGRITTE = "René Magritte|Rene Magritte|Magritte"
_WARHOL = "Andy Warhol|Warhol"
_BRUEGEL = "Pieter Bruegel the Elder|Pieter Bruegel|Bruegel|Brueghel|Pieter Brueghel"
_MILLET = "Jean-François Millet|Jean-Francois Millet|Millet"
_RODIN = "Auguste Rodin|Rodin"

PAINTINGS = [
    ("the Mona Lisa", _LEONARDO),
    ("The Last Supper", _LEONARDO),
    ("Lady with an Ermine", _LEONARDO),
    ("The Starry Night", _VAN_GOGH),
    ("Sunflowers", _VAN_GOGH),
    ("The Potato Eaters", _VAN_GOGH),
    ("Café Terrace at Night", _VAN_GOGH),
    ("The Night Café", _VAN_GOGH),
    ("Irises", _VAN_GOGH),
    ("The Scream", "Edvard Munch|Munch"),
    ("Guernica", _PICASSO),
    ("Les Demoiselles d'Avignon", _PICASSO),
    ("The Old Guitarist", _PICASSO),
    ("Girl before a Mirror", _PICASSO),
    ("The Persistence of Memory", "Salvador Dalí|Salvador Dali|Dalí|Dali"),
    ("The Birth of Venus", _BOTTICELLI),
    ("Primavera", _BOTTICELLI),
    ("The Night Watch", "Rembrandt|Rembrandt van Rijn|Rembrandt Harmenszoon van Rijn"),
    ("Girl with a Pearl Earring", _VERMEER),
    ("The Milkmaid", _VERMEER),
    ("The Creation of Adam", _MICHELANGELO),
    ("The School of Athens", _RAPHAEL),
    ("the Sistine Madonna", _RAPHAEL),
    ("Water Lilies", _MONET),
    ("Impression, Sunrise", _MONET),
    ("The Kiss (1908, gold leaf)", "Gustav Klimt|Klimt"),
    ("American Gothic", "Grant Wood"),
    ("Nighthawks", "Edward Hopper|Hopper"),
    ("The Garden of Earthly Delights", "Hieronymus Bosch|Bosch"),
    ("Liberty Leading the People", "Eugène Delacroix|Eugene Delacroix|Delacroix"),
    ("The Raft of the Medusa", "Théodore Géricault|Theodore Gericault|Géricault|Gericault"),
    ("Las Meninas", "Diego Velázquez|Diego Velazquez|Velázquez|Velazquez"),
    ("The Third of May 1808", _GOYA),
    ("Saturn Devouring His Son", _GOYA),
    ("The Arnolfini Portrait", "Jan van Eyck|van Eyck"),
    ("The Hay Wain", "John Constable|Constable"),
    ("The Fighting Temeraire", "J. M. W. Turner|J.M.W. Turner|Turner|Joseph Mallord William Turner|William Turner"),
    ("A Sunday Afternoon on the Island of La Grande Jatte", _SEURAT),
    ("Bathers at Asnières", _SEURAT),
    ("Luncheon of the Boating Party", _RENOIR),
    ("Bal du moulin de la Galette", _RENOIR),
    ("The Card Players", "Paul Cézanne|Paul Cezanne|Cézanne|Cezanne"),
    ("Olympia (1863)", "Édouard Manet|Edouard Manet|Manet"),
    ("Le Déjeuner sur l'herbe", "Édouard Manet|Edouard Manet|Manet"),
    ("Where Do We Come From? What Are We? Where Are We Going?", "Paul Gauguin|Gauguin"),
    ("Composition with Red, Blue and Yellow", "Piet Mondrian|Mondrian"),
    ("Campbell's Soup Cans", _WARHOL),
    ("Marilyn Diptych", _WARHOL),
    ("No. 5, 1948", "Jackson Pollock|Pollock"),
    ("The Son of Man", _MAGRITTE),
    ("The Treachery of Images", _MAGRITTE),
    ("The Two Fridas", "Frida Kahlo|Kahlo"),
    ("The Lady of Shalott (1888)", "John William Waterhouse|Waterhouse"),
    ("The Ambassadors", "Hans Holbein the Younger|Hans Holbein|Holbein"),
    ("The Gleaners", _MILLET),
    ("The Angelus", _MILLET),
    ("Wanderer above the Sea of Fog", "Caspar David Friedrich|Friedrich"),
    ("Harmony in Red (The Red Room)", "Henri Matisse|Matisse"),
    ("The Blue Boy", "Thomas Gainsborough|Gainsborough"),
    ("Black Square", "Kazimir Malevich|Malevich"),
    ("The Tower of Babel (1563)", _BRUEGEL),
    ("Netherlandish Proverbs", _BRUEGEL),
    ("The Hunters in the Snow", _BRUEGEL),
    ("Christina's World", "Andrew Wyeth|Wyeth"),
    ("The Sleeping Gypsy", "Henri Rousseau|Rousseau|Le Douanier Rousseau"),
    ("The Swing (1767)", "Jean-Honoré Fragonard|Jean-Honore Fragonard|Fragonard"),
    ("The Calling of Saint Matthew", "Caravaggio|Michelangelo Merisi da Caravaggio"),
    ("Whistler's Mother", "James McNeill Whistler|Whistler|James Abbott McNeill Whistler"),
    ("The Dream (1910)", "Henri Rousseau|Rousseau|Le Douanier Rousseau"),
    ("Wheatfield with Crows", _VAN_GOGH),
    ("The Great Wave off Kanagawa", "Katsushika Hokusai|Hokusai"),
]

ARTWORKS = [
    ("the marble statue of David in Florence's Galleria dell'Accademia", _MICHELANGELO),
    ("the Pietà in St. Peter's Basilica", _MICHELANGELO),
    ("The Thinker", _RODIN),
    ("The Burghers of Calais", _RODIN),
    ("Balloon Dog", "Jeff Koons|Koons"),
    ("The Physical Impossibility of Death in the Mind of Someone Living", "Damien Hirst|Hirst"),
    ("Fountain (1917), the signed urinal", "Marcel Duchamp|Duchamp"),
    ("Cloud Gate in Chicago", "Anish Kapoor|Kapoor"),
    ("the Angel of the North", "Antony Gormley|Gormley"),
    ("the Ecstasy of Saint Teresa", "Gian Lorenzo Bernini|Bernini"),
    ("the bronze Perseus with the Head of Medusa in Florence", "Benvenuto Cellini|Cellini"),
    ("Spiral Jetty", "Robert Smithson|Smithson"),
    ("Maman, the giant spider sculpture", "Louise Bourgeois|Bourgeois"),
    ("Girl with Balloon", "Banksy"),
    ("The Little Dancer Aged Fourteen", "Edgar Degas|Degas"),
    ("Bird in Space", "Constantin Brâncuși|Constantin Brancusi|Brâncuși|Brancusi"),
    ("the Statue of Liberty's design", "Frédéric Auguste Bartholdi|Frederic Auguste Bartholdi|Bartholdi"),
    ("the Gates of Paradise on the Florence Baptistery", "Lorenzo Ghiberti|Ghiberti"),
]
